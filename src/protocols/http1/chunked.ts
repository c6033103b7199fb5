// Chunked transfer coding (RFC 9112 §7.1) as an explicit state machine, fed any split of the bytes.
// Chunk extensions and trailer fields are skipped (bounded by maxLineBytes).

const CR = 0x0d;
const LF = 0x0a;

const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLineStart,
  TrailerLine,
  TrailerEndLf,
  Done,
  Bad,
}

export type ChunkedStatus = 'more' | 'done' | 'bad_size' | 'bad_end' | 'trailer_too_large';

/** Receives chunk data as ranges of the fed view (valid only during the call). */
export interface ChunkDataHandler {
  chunkData(data: Uint8Array, start: number, end: number): void;
}

/** Chunk sizes above this are treated as malformed (2^48: far beyond any real chunk, safe in a double). */
const MAX_CHUNK_SIZE = 2 ** 48;

export class ChunkedDecoder {
  private state = S.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private lineBytes = 0;
  status: ChunkedStatus = 'more';

  constructor(private readonly maxLineBytes: number) {}

  reset(): void {
    this.state = S.Size;
    this.size = 0;
    this.digits = 0;
    this.remaining = 0;
    this.lineBytes = 0;
    this.status = 'more';
  }

  /** Consume data[pos..end). Returns the position after the consumed bytes; stops at the end of the body or an error. */
  feed(data: Uint8Array, pos: number, end: number, out: ChunkDataHandler): number {
    let i = pos;
    while (i < end) {
      switch (this.state) {
        case S.Size: {
          const b = data[i]!;
          const h = hexValue(b);
          if (h >= 0) {
            if (this.digits > 0 || h > 0) this.size = this.size * 16 + h;
            this.digits++;
            if (this.size > MAX_CHUNK_SIZE) return this.fail(i, 'bad_size');
            i++;
            break;
          }
          if (this.digits === 0) return this.fail(i, 'bad_size');
          if (b === 0x3b /* ; */ || b === 0x20 || b === 0x09) {
            this.state = S.Ext;
            this.lineBytes = 0;
          } else if (b === CR) {
            this.state = S.SizeLf;
          } else if (b === LF) {
            this.sizeDone();
          } else {
            return this.fail(i, 'bad_size');
          }
          i++;
          break;
        }
        case S.Ext: {
          // Extensions (and whitespace before them) are skipped up to the line end.
          const lf = data.indexOf(LF, i);
          const stop = lf < 0 || lf >= end ? end : lf;
          this.lineBytes += stop - i;
          if (this.lineBytes > this.maxLineBytes) return this.fail(stop, 'bad_size');
          if (stop === end) return end;
          i = stop + 1;
          this.sizeDone();
          break;
        }
        case S.SizeLf:
          if (data[i] !== LF) return this.fail(i, 'bad_size');
          i++;
          this.sizeDone();
          break;
        case S.Data: {
          const n = Math.min(this.remaining, end - i);
          out.chunkData(data, i, i + n);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr: {
          const b = data[i];
          if (b === CR) this.state = S.DataLf;
          else if (b === LF) this.state = S.Size;
          else return this.fail(i, 'bad_end');
          i++;
          break;
        }
        case S.DataLf:
          if (data[i] !== LF) return this.fail(i, 'bad_end');
          i++;
          this.state = S.Size;
          break;
        case S.TrailerLineStart: {
          const b = data[i];
          i++;
          if (b === LF) return this.finish(i);
          if (b === CR) this.state = S.TrailerEndLf;
          else {
            this.state = S.TrailerLine;
            this.lineBytes++;
          }
          break;
        }
        case S.TrailerLine: {
          const lf = data.indexOf(LF, i);
          const stop = lf < 0 || lf >= end ? end : lf;
          this.lineBytes += stop - i;
          if (this.lineBytes > this.maxLineBytes) return this.fail(stop, 'trailer_too_large');
          if (stop === end) return end;
          i = stop + 1;
          this.state = S.TrailerLineStart;
          break;
        }
        case S.TrailerEndLf:
          if (data[i] !== LF) return this.fail(i, 'bad_end');
          return this.finish(i + 1);
        case S.Done:
        case S.Bad:
          return i;
      }
    }
    return i;
  }

  private sizeDone(): void {
    if (this.size === 0) {
      this.state = S.TrailerLineStart;
      this.lineBytes = 0;
    } else {
      this.state = S.Data;
      this.remaining = this.size;
    }
    this.size = 0;
    this.digits = 0;
  }

  private finish(pos: number): number {
    this.state = S.Done;
    this.status = 'done';
    return pos;
  }

  private fail(pos: number, why: ChunkedStatus): number {
    this.state = S.Bad;
    this.status = why;
    return pos;
  }
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}
