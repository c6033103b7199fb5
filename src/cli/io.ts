// Where a command writes: machine output to stdout, progress and diagnostics to stderr.
export interface CliIO {
  stdout(text: string): void;
  /** Bytes for stdout, kept by the callee (decode writes its NDJSON as UTF-8 it built itself). Else stdout(text). */
  stdoutBytes?(bytes: Uint8Array): void;
  /** A promise while stdout's reader is behind (its buffer is full), resolved when it has caught up; else undefined. */
  stdoutDrain?(): Promise<void> | undefined;
  /** If stdout's reader goes away (`| head`), end the process at once with this code (else output is dropped). */
  endOnStdoutClose?(code: number): void;
  stderr(text: string): void;
  /** True when stderr is a terminal (progress bars, colours). */
  isTTY: boolean;
  /** Colours allowed (a terminal, and NO_COLOR unset). */
  color: boolean;
}

/** A user-caused error: one clear line, exit code 2, no stack trace. */
export class UsageError extends Error {}

/** A promise while `stream`'s buffer is full, resolved at its next 'drain'; else undefined (write on). */
export function whenDrained(stream: NodeJS.WritableStream & { writableNeedDrain: boolean }): Promise<void> | undefined {
  return stream.writableNeedDrain ? new Promise((resolve) => stream.once('drain', () => resolve())) : undefined;
}

export const EXIT = { clean: 0, findings: 1, usage: 2 } as const;
