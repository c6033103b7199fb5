// `shadowtap decode FILE...`: every application message as NDJSON on stdout, counts on stderr.
import { Anomalies } from '../../core/anomalies.js';
import { runCapture } from '../../pipeline/capture.js';
import { MessageLineWriter } from '../../report/message-writer.js';
import type { CliIO } from '../io.js';
import { EXIT } from '../io.js';
import { Progress } from '../progress.js';
import { plainFileSize } from '../../sources/sniff.js';

export interface DecodeOptions {
  files: string[];
  /** Only these message kinds (http.request, jsonrpc, dns, ...). */
  kinds?: string[];
  strict?: boolean;
  quiet?: boolean;
}

export async function runDecode(opts: DecodeOptions, io: CliIO): Promise<number> {
  const kinds = opts.kinds?.length ? new Set(opts.kinds) : undefined;
  io.endOnStdoutClose?.(EXIT.clean); // decode ends clean; `decode x | head` has what it asked for
  for (const file of opts.files) {
    const anomalies = new Anomalies();
    const progress = new Progress(io, opts.quiet);
    const totalBytes = io.isTTY ? plainFileSize(file) : undefined;
    const out = new MessageLineWriter(file, io.stdoutBytes ?? ((bytes) => io.stdout(Buffer.from(bytes).toString('utf8'))));
    const stats = await runCapture(file, {
      anomalies,
      strict: opts.strict,
      // A slow reader (`| less`, a forwarder) holds decode back instead of the output piling up in memory.
      pace: io.stdoutDrain,
      onProgress: io.isTTY && !opts.quiet ? (p) => progress.update({ file: p.file, bytes: p.bytes, totalBytes, records: p.frames }) : undefined,
      onMessage: (msg) => {
        if (kinds && !kinds.has(msg.kind)) return;
        out.write(msg);
      },
    });
    out.flush();
    await io.stdoutDrain?.(); // and between files
    progress.done();
    if (!opts.quiet) {
      const summary = {
        file,
        format: stats.format,
        frames: stats.frames,
        bytes: stats.bytes,
        ipFrames: stats.ipFrames,
        messages: stats.messages,
        flows: stats.flows,
        protocols: stats.protocols,
        anomalies: anomalies.summary(),
      };
      io.stderr(`${JSON.stringify({ summary })}\n`);
    }
  }
  return EXIT.clean;
}
