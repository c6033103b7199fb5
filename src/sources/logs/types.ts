// The contract every log format module fulfils. One module per format; index.ts picks one per file.
import type { Anomalies } from '../../core/anomalies.js';
import type { Observation } from '../../detect/observation.js';

export interface LogParserContext {
  /** Name shown in evidence and anomalies (the path, or `-` for stdin). */
  file: string;
  anomalies: Anomalies;
  /** Year assumed for timestamps that carry none (syslog RFC 3164, dnsmasq): the file's mtime year. */
  refYear: number;
  /** Time (epoch s) used for records that carry no wall-clock time (dmesg uptime stamps): the file's mtime. */
  refTime: number;
  /** Column mapping given on the command line (generic CSV). */
  map?: string;
  /** How slash dates with the year last are read (Windows DNS, `--date-order`); default: decided per file. */
  dateOrder?: DateOrder;
  /** What this parser's memo() said at the end of the earlier run that read this file up to where this one starts. */
  memo?: string;
  /**
   * Count an anomaly about the file rather than the line (the line itself was read): unlike `anomalies.add`, it
   * does not make the line count as bad.
   */
  notice(name: string, where: { file: string; line: number; detail?: string }): void;
}

/** Month/day/year (en-US) or day/month/year (en-GB, fr-FR, ...). */
export type DateOrder = 'mdy' | 'dmy';

export interface LogLineParser {
  /**
   * One line (no line terminator). Returns the observations it makes, `[]` for a line that is
   * understood but carries nothing to observe (headers, comments, other messages), or
   * `undefined` when the line could not be parsed (index.ts counts `log.unparsed_line`).
   * A parser may count a more specific anomaly itself (`log.bad_timestamp`, `log.bad_address`)
   * and still return `[]`; then the line counts as bad too.
   */
  line(text: string, lineNo: number): Observation[] | undefined;
  /**
   * For records that span lines (Windows DNS debug detail blocks). `blank`: a blank line, which `line` never
   * sees (it may end a record). `open`: the line where the record still open began, if one is. `end`: the file's
   * last line was read; the open record's observations, or, when `more` (an incremental import of a file still
   * being written, which will read the record again from its first line next run), undefined to leave it for then.
   */
  blank?(lineNo: number): Observation[];
  /**
   * What the parser learned about the file that a later incremental run should start from (the Windows DNS log's
   * proven date order), kept with the file's cursor and handed back as LogParserContext.memo. Short text.
   */
  memo?(): string | undefined;
  open?(): number | undefined;
  end?(more: boolean): Observation[] | undefined;
}

export interface LogFormat {
  /** Stable id, used by `--format` and shown in reports. */
  id: string;
  title: string;
  /** True when the first lines of a file (blank lines removed) look like this format. */
  sniff(sampleLines: string[]): boolean;
  parser(ctx: LogParserContext): LogLineParser;
}
