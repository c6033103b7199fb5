// The command line: main(argv) → exit code. Machine output on stdout, progress and diagnostics on stderr.
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { VERSION } from '../version.js';
import type { Confidence } from '../detect/finding.js';
import { REPORT_FORMATS, type ReportFormat } from '../report/model.js';
import { EXIT, UsageError, whenDrained, type CliIO } from './io.js';
import { CONFIG_FILE, loadConfig, type Config } from './config.js';
import { MESSAGE_KINDS } from '../protocols/messages.js';

// Commands are imported when they run: `decode` should not pay for the report, rule and store modules.
const commands = {
  decode: () => import('./commands/decode.js'),
  scan: () => import('./commands/scan.js'),
  rules: () => import('./commands/rules.js'),
  signatures: () => import('./commands/signatures.js'),
};

const CONFIDENCES = ['low', 'medium', 'high'] as const;
const STDIN_TOKEN = '\u2300stdin';

/** Errors a user can cause: one line, exit 2, no stack trace. */
const USER_ERRORS = new Set([
  'UsageError', 'CaptureFormatError', 'LiveCaptureError', 'LogFormatError', 'SignatureLoadError', 'ApprovedLoadError', 'RuleInputError',
  'DlpConfigError', 'StoreError',
]);

/** stdout's reader went away (EPIPE); and the exit code to end with right then, if the command gave one. */
const stdoutState: { closed: boolean; endCode?: number } = { closed: false };
let pipeWatched = false;

export function defaultIO(): CliIO {
  const isTTY = Boolean(process.stderr.isTTY);
  if (!pipeWatched) {
    pipeWatched = true;
    // The reader went away (`shadowtap decode x.pcap | head`): it has what it wanted. No EPIPE stack trace: further
    // output is dropped, and a command that said how (decode) ends at once instead of reading the rest.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      stdoutState.closed = true;
      if (stdoutState.endCode !== undefined) process.exit(stdoutState.endCode);
    });
  }
  const write = (out: string | Uint8Array) => void (stdoutState.closed || process.stdout.write(out));
  return {
    stdout: write,
    stdoutBytes: write,
    stdoutDrain: () => (stdoutState.closed ? undefined : whenDrained(process.stdout)),
    endOnStdoutClose: (code) => {
      stdoutState.endCode = code;
    },
    stderr: (t) => void process.stderr.write(t),
    isTTY,
    color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  };
}

export async function main(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  let code: number = EXIT.clean;
  const debug = argv.includes('--debug');
  const list = (v: unknown): string[] | undefined =>
    v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter(Boolean);

  const reportOptions = (y: Argv) =>
    y
      .option('min-confidence', { choices: CONFIDENCES, describe: 'Report only findings at or above this confidence [default: low]' })
      .option('fail-on', { choices: [...CONFIDENCES, 'none'] as const, describe: 'Exit 1 when a shadow finding is at or above this confidence [default: low]' })
      .option('approved', { type: 'string', describe: 'Approved MCP servers registry (JSON)' })
      .option('signatures', { type: 'string', array: true, describe: 'Extra signature pack directories' })
      .option('out', { alias: 'o', type: 'string', describe: 'Write the report to this file instead of stdout' });

  let config: Config;
  try {
    config = await loadConfig(configPath(argv));
  } catch (err) {
    return reportError(err, io, debug);
  }
  /** A flag, else the config file's value, else the default. */
  const reportSettings = (a: Record<string, unknown>, cfg: Config, format: unknown) => ({
    output: (format ?? cfg.output ?? 'table') as ReportFormat,
    out: a.out as string | undefined,
    minConfidence: (a.minConfidence ?? cfg.minConfidence ?? 'low') as Confidence,
    failOn: (a.failOn ?? cfg.failOn ?? 'low') as Confidence | 'none',
    approved: (a.approved as string | undefined) ?? cfg.approved,
    signatures: [...(cfg.signatures ?? []), ...(list(a.signatures) ?? [])],
    quiet: a.quiet as boolean | undefined,
    verbose: a.verbose as boolean | undefined,
    dlp: cfg.dlp,
    alerts: cfg.alerts,
  });

  // yargs drops a bare `-`; carry it through as a token and turn it back into `-` (stdin) in the commands.
  const files = (v: unknown): string[] => ((v as string[] | undefined) ?? []).map((f) => (f === STDIN_TOKEN ? '-' : f));
  const parser = yargs(argv.map((x) => (x === '-' ? STDIN_TOKEN : x)))
    .scriptName('shadowtap')
    .usage('$0 <command> [options]\n\nFind Shadow MCP in captures and logs, and turn findings into block rules.')
    .version(VERSION)
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'No progress or summary on stderr' })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'Also list each input, every anomaly with where it was seen, and run statistics on stderr' })
    .option('debug', { type: 'boolean', describe: 'Show stack traces for errors' })
    .option('config', { type: 'string', describe: `Config file [default: ./${CONFIG_FILE} when present]` })
    .command(
      'decode <files..>',
      'Print every application message of a capture as NDJSON',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, describe: 'pcap or pcapng files (.gz ok), - for stdin' })
          .option('kind', { type: 'string', array: true, choices: [...MESSAGE_KINDS, 'none'], describe: 'Only these message kinds; none: no messages, only the summary' })
          .option('strict', { type: 'boolean', hidden: true })
          .example('$0 decode capture.pcapng > messages.ndjson', 'all messages')
          .example('$0 decode capture.pcapng --kind jsonrpc', 'only JSON-RPC messages'),
      async (a) => {
        code = await (await commands.decode()).runDecode({ files: files(a.files), kinds: list(a.kind), strict: a.strict as boolean | undefined, quiet: a.quiet as boolean | undefined }, io);
      },
    )
    .command(
      'scan <files..>',
      'Find MCP servers and clients in captures (and logs)',
      (y) =>
        reportOptions(
          y
            .positional('files', { type: 'string', array: true, describe: 'pcap/pcapng captures (.gz ok), logs, directories, - for stdin' })
            .option('format', { alias: 'f', choices: REPORT_FORMATS, describe: 'Report format [default: table]' })
            .option('db', { type: 'string', describe: 'Inventory store (SQLite): merge findings, data-loss hits and alerts; a capture already merged (same content) is skipped' })
            .option('new-only', { type: 'boolean', describe: 'With --db: report only findings the inventory had not seen; exit 1 when one is shadow' }),
        )
          .example('$0 scan capture.pcapng', 'table of findings')
          .example('$0 scan capture.pcapng --format json -o report.json --approved approved.json', 'JSON report, approved servers exempt')
          .example('$0 scan capture.pcapng --fail-on high', 'exit 1 only for high-confidence shadow MCP'),
      async (a) => {
        code = await (await commands.scan()).runScan({
          ...reportSettings(a, config, a.format), files: files(a.files), mode: 'scan',
          db: a.db as string | undefined, newOnly: a.newOnly as boolean | undefined,
        }, io);
      },
    )
    .command(
      'import <files..>',
      'Run firewall, proxy and DNS logs through the same signatures',
      (y) =>
        reportOptions(
          y
            .positional('files', { type: 'string', array: true, describe: 'log files, globs, directories, .gz, - for stdin' })
            .option('format', { type: 'string', describe: 'Force the log format (default: detected per file)' })
            .option('map', { type: 'string', describe: 'Column mapping for generic CSV, e.g. ts=time,src=client,dst=server,dport=port,host=host' })
            .option('date-order', { choices: ['mdy', 'dmy'] as const, describe: 'Windows DNS debug log dates like 05/11/2026: M/D/Y or D/M/Y [default: per file, from its dates, else guessed from its clock: AM/PM M/D/Y, 24-hour D/M/Y]' })
            .option('format-out', { choices: REPORT_FORMATS, describe: 'Report format [default: table]' })
            .option('db', { type: 'string', describe: 'Inventory store (SQLite): import only what is new since the last run and keep every server seen [default: config "db"]' })
            .option('new-only', { type: 'boolean', describe: 'With --db: report only findings the inventory had not seen; exit 1 when one is shadow' }),
        )
          .example('$0 import /var/log/zeek/current', 'every Zeek log in a directory')
          .example('$0 import eve.json --format-out ndjson', 'Suricata EVE, one finding per line')
          .example('$0 import --db /var/lib/shadowtap/inventory.db "/var/log/zeek/*.log" --new-only --format-out ndjson', 'from cron: new lines only, new findings as NDJSON, exit 1 on new shadow MCP'),
      async (a) => {
        code = await (await commands.scan()).runScan({
          ...reportSettings(a, config, a.formatOut), files: files(a.files), mode: 'import',
          logFormat: a.format as string | undefined, map: a.map as string | undefined, dateOrder: a.dateOrder as 'mdy' | 'dmy' | undefined,
          db: (a.db as string | undefined) ?? config.db, newOnly: a.newOnly as boolean | undefined,
        }, io);
      },
    )
    .command(
      'audit <files..>',
      'List every MCP request in clear-text captures, with data-loss checks and behaviour alerts',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, describe: 'pcap or pcapng captures (.gz ok), - for stdin' })
          .option('format', { alias: 'f', choices: ['table', 'ndjson', 'csv'] as const, default: 'table' as const, describe: 'Listing format' })
          .option('out', { alias: 'o', type: 'string', describe: 'Write the listing to this file instead of stdout' })
          .option('requests-only', { type: 'boolean', describe: 'Leave notifications out of the listing' })
          .option('db', { type: 'string', describe: 'Inventory store (SQLite), read only: the baseline of the new-server alert (servers it knows) and of tool_call_unusual (calls per window learned by scan --db); never written [default: config "db"]' })
          .example('$0 audit capture.pcapng', 'every request: time, client, server, method, tool, arguments, result size, error')
          .example('$0 audit capture.pcapng -f ndjson -o audit.ndjson', 'NDJSON for a SIEM (secrets masked), behaviour alerts at the end')
          .example('$0 audit --config shadowtap.config.json day1.pcap day2.pcap -f csv', 'DLP markers and alert thresholds from the config')
          .example('$0 audit capture.pcapng --db inv.db', 'new-server and unusual-call alerts against the inventory')
          .epilog('Exit code 1 when a data-loss hit or a behaviour alert was raised. Secrets are always shown masked (first 4 characters and length).'),
      async (a) => {
        const { runAudit } = await import('./commands/audit.js');
        code = await runAudit({
          files: files(a.files), format: a.format as 'table' | 'ndjson' | 'csv', out: a.out as string | undefined,
          requestsOnly: a.requestsOnly as boolean | undefined, dlp: config.dlp, alerts: config.alerts, quiet: a.quiet as boolean | undefined,
          db: (a.db as string | undefined) ?? config.db,
        }, io);
      },
    )
    .command(
      'rules [files..]',
      'Render block rules for firewalls, DNS and Cloudflare Gateway from findings',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, describe: 'captures or logs to scan first (or use --from)' })
          .option('from', { type: 'string', describe: 'A saved JSON report (scan --format json)' })
          .option('target', { alias: 't', type: 'string', array: true, describe: 'Targets, comma-separated, or all (see --list-targets)' })
          .option('list-targets', { type: 'boolean', describe: 'List the rule targets and exit' })
          .option('min-confidence', { choices: CONFIDENCES, describe: 'Block findings at or above this confidence [default: medium]' })
          .option('block', { type: 'string', array: true, describe: 'What to block: servers, domains, ports or all [default: all]' })
          .option('templates', { type: 'string', describe: 'Directory of templates overriding the built-in ones' })
          .option('approved', { type: 'string', describe: 'Approved MCP servers registry (JSON)' })
          .option('signatures', { type: 'string', array: true })
          .option('out', { alias: 'o', type: 'string', describe: 'Directory to write one file per target' })
          .example('$0 rules --from report.json -t nftables,cloudflare-dns', 'rules from a saved report')
          .example('$0 rules capture.pcapng -t all -o rules/', 'scan, then every target into rules/'),
      async (a) => {
        if (a.listTargets) {
          code = await (await commands.rules()).runRules({ target: [], list: true }, io);
          return;
        }
        const target = list(a.target) ?? config.rules?.target;
        if (!target?.length) throw new UsageError('rules needs --target (e.g. --target nftables,cloudflare-dns or --target all)');
        let findings;
        const inputs = files(a.files);
        if (!a.from && inputs.length === 0) throw new UsageError('rules needs --from REPORT.json or capture/log files to scan');
        if (inputs.length) {
          const { analyze } = await import('../pipeline/scan.js');
          const { sniffInputKind } = await import('../sources/sniff.js');
          const captures: string[] = [];
          const logs: string[] = [];
          for (const f of inputs) (f === '-' || (await sniffInputKind(f)) === 'capture' ? captures : logs).push(f);
          const approved = (a.approved as string | undefined) ?? config.approved;
          const signatures = [...(config.signatures ?? []), ...(list(a.signatures) ?? [])];
          findings = (await analyze({ captures, logs }, { approved, signatures })).findings;
        }
        code = await (await commands.rules()).runRules({
          from: a.from as string | undefined, findings, target,
          minConfidence: (a.minConfidence ?? config.rules?.minConfidence ?? 'medium') as Confidence,
          block: (list(a.block) ?? config.rules?.block ?? ['all']) as Array<'servers' | 'domains' | 'ports' | 'all'>,
          templates: (a.templates as string | undefined) ?? config.rules?.templates, out: a.out as string | undefined,
        }, io);
      },
    )
    .command(
      'capture',
      'Watch a network interface live (libpcap) and report MCP as it appears',
      (y) =>
        y
          .option('interface', { alias: 'i', type: 'string', describe: 'Interface to capture on' })
          .option('list', { type: 'boolean', describe: 'List interfaces and exit' })
          .option('filter', { type: 'string', describe: 'BPF capture filter, e.g. "tcp port 8080 or udp port 53"' })
          .option('duration', { type: 'number', describe: 'Stop after this many seconds' })
          .option('packets', { alias: 'c', type: 'number', describe: 'Stop after this many packets' })
          .option('write', { alias: 'w', type: 'string', describe: 'Also write the frames to this pcap file' })
          .option('rotate', { type: 'string', describe: 'Rotate --write files by size (500K, 100M, 1G) or time (30s, 10m, 1h)' })
          .option('buffer-size', { alias: 'B', type: 'number', describe: 'Kernel capture buffer, MiB [default: 16]' })
          .option('format', { alias: 'f', choices: ['table', 'ndjson'] as const, default: 'table' as const, describe: 'Live findings format' })
          .option('report', { type: 'string', describe: 'Write the final JSON report here on exit (the table or an NDJSON summary line goes to stdout)' })
          .option('approved', { type: 'string', describe: 'Approved MCP servers registry (JSON)' })
          .option('signatures', { type: 'string', array: true, describe: 'Extra signature pack directories' })
          .example('$0 capture --list', 'interfaces')
          .example('$0 capture -i eth0 --filter "tcp or udp port 53" -w mcp.pcap --rotate 100M', 'watch and keep the frames')
          .example('$0 capture -i eth0 --duration 600 --format ndjson --report final.json', 'ten minutes, NDJSON, then a report')
          .epilog('Needs the optional module "cap" (libpcap) and root, or CAP_NET_RAW and CAP_NET_ADMIN on the node binary. ' +
            'SIGINT/SIGTERM stop cleanly: flows are flushed, the report and capture file written, exit 0.'),
      async (a) => {
        const { runLiveCapture } = await import('./commands/capture.js');
        code = await runLiveCapture({
          interface: a.interface, list: a.list, filter: a.filter, duration: a.duration, packets: a.packets, write: a.write,
          rotate: a.rotate, bufferSizeMiB: a.bufferSize, output: a.format, report: a.report, approved: (a.approved as string | undefined) ?? config.approved,
          signatures: [...(config.signatures ?? []), ...(list(a.signatures) ?? [])], quiet: a.quiet as boolean | undefined,
        }, io);
      },
    )
    .command(
      'inventory <action> [key]',
      'The running inventory of MCP servers, domains, clients, data-loss hits and alerts kept by import --db and scan --db',
      (y) =>
        y
          .positional('action', { choices: ['list', 'show', 'export', 'runs'] as const, describe: 'list a kind, show one entry, export every kind (or one), or list the runs' })
          .positional('key', { type: 'string', describe: 'list, export: the kind (servers, domains, clients, dlp, alerts; same as --kind); show: server id, ip, ip:port, name or client ip' })
          .option('db', { type: 'string', describe: 'Inventory store [default: config "db"]' })
          .option('kind', { alias: 'k', choices: ['servers', 'domains', 'clients', 'dlp', 'alerts'] as const, describe: 'The kind to list or export, or name it after the action (inventory list domains) [default: list: servers; export: every kind]' })
          .option('format', { alias: 'f', choices: ['table', 'json', 'csv', 'ndjson'] as const, describe: 'Output format [default: table; export: json]' })
          .option('since', { type: 'string', describe: 'Only entries seen at or after: ISO time, epoch seconds, or an age (24h, 7d)' })
          .option('status', { choices: ['shadow', 'approved'] as const, describe: 'Only shadow or only approved entries' })
          .option('out', { alias: 'o', type: 'string', describe: 'Write to this file instead of stdout' })
          .example('$0 inventory list --db inv.db --status shadow --since 7d', 'shadow MCP servers seen this week')
          .example('$0 inventory list clients --db inv.db -f csv', 'every client that used an MCP server, as CSV')
          .example('$0 inventory list dlp --db inv.db', 'data-loss hits (values masked); alerts: behaviour alerts')
          .example('$0 inventory show 10.0.0.5:8080 --db inv.db', 'one server: counts, sources, the runs that saw it')
          .example('$0 inventory export --db inv.db -f ndjson -o inventory.ndjson', 'every kind (servers, domains, clients, dlp, alerts), one record per line with its type')
          .example('$0 inventory export domains --db inv.db -f json', 'only the domains, in any format: the records inventory list domains gives'),
      async (a) => {
        const db = (a.db as string | undefined) ?? config.db;
        if (!db) throw new UsageError('inventory needs the store: --db PATH or "db" in the config file');
        const { runInventory } = await import('./commands/inventory.js');
        code = await runInventory({
          action: a.action as 'list' | 'show' | 'export' | 'runs', key: a.key as string | undefined, db,
          kind: a.kind as 'servers' | 'domains' | 'clients' | 'dlp' | 'alerts' | undefined, format: a.format as 'table' | 'json' | 'csv' | 'ndjson' | undefined,
          since: a.since as string | undefined, status: a.status as 'shadow' | 'approved' | undefined, out: a.out as string | undefined,
        }, io);
      },
    )
    .command(
      'signatures <action>',
      'List, validate or test signature packs',
      (y) =>
        y
          .positional('action', { choices: ['list', 'validate', 'test'] as const })
          .option('signatures', { type: 'string', array: true, describe: 'Extra signature pack directories' })
          .option('format', { choices: ['table', 'json'] as const, default: 'table' as const })
          .example('$0 signatures test --signatures ./my-packs', 'run every signature\'s own cases'),
      async (a) => {
        code = await (await commands.signatures()).runSignatures(a.action as 'list' | 'validate' | 'test', { signatures: list(a.signatures), format: a.format }, io);
      },
    )
    .demandCommand(1, 'Name a command: decode, scan, import, audit, rules, capture, inventory or signatures (see --help)')
    .strict()
    .recommendCommands()
    .completion('completion', 'Print a bash/zsh completion script')
    // Every message of ours is English; yargs' own would follow LANG (and its locale files are not in the bundle).
    .locale('en')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .exitProcess(false);

  // yargs renders the whole help text each time a command's handler starts (cached in case the handler fails):
  // ~10 ms of every run, and our handlers report their own errors. Help is still rendered when asked for.
  const usage = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } })
    .getInternalMethods?.().getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};

  try {
    await parser.parseAsync();
    return code;
  } catch (err) {
    return reportError(err, io, debug);
  }
}

function configPath(argv: string[]): string | undefined {
  const i = argv.findIndex((x) => x === '--config' || x.startsWith('--config='));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
}

function reportError(err: unknown, io: CliIO, debug: boolean): number {
  const e = err as NodeJS.ErrnoException;
  if (e && (USER_ERRORS.has(e.constructor?.name) || USER_ERRORS.has(e.name))) {
    io.stderr(`shadowtap: ${e.message}\n`);
  } else if (e && (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR')) {
    const what = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' }[e.code];
    io.stderr(`shadowtap: cannot read ${e.path ?? 'input'}: ${what}\n`);
  } else {
    io.stderr(`shadowtap: internal error: ${e?.message ?? String(err)} (rerun with --debug and report it)\n`);
    if (debug && e?.stack) io.stderr(`${e.stack}\n`);
    return EXIT.usage;
  }
  if (debug && e?.stack) io.stderr(`${e.stack}\n`);
  return EXIT.usage;
}
