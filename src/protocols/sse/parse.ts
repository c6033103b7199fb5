// Server-Sent Events stream parser (WHATWG HTML §9.2.6 "Interpreting an event stream"), incremental:
// any split of the bytes gives the same events. LF, CRLF and CR end lines, also when a CR ends one feed
// and the LF starts the next. A leading BOM is dropped. One event (all its lines) is capped.

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const BOM = [0xef, 0xbb, 0xbf];

export interface SseFields {
  /** `message` when the event had no `event:` field. */
  event: string;
  /** Data lines joined with LF. */
  data: string;
  /** The `id:` field of this event, when it had one (a value containing NUL is ignored, as the spec says). */
  id?: string;
  /** The `retry:` field of this event, when it was all ASCII digits. */
  retry?: number;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

export class SseParser {
  /** Bytes of the BOM matched so far at the start of the stream; -1 once past it. */
  private bomMatched = 0;
  /** The previous feed ended in CR: an LF at the start of the next one belongs to that line end. */
  private lastCR = false;
  /** Partial line carried across feeds (copied; the fed view is only valid during the call). */
  private lineBuf = new Uint8Array(256);
  private lineLen = 0;
  /** The current line started with ':' (a comment): not buffered. */
  private lineIsComment = false;
  /** The current line has begun (it may still be empty of buffered bytes if it is a comment). */
  private lineStarted = false;

  private eventType: string | undefined;
  private dataLines: string[] = [];
  private id: string | undefined;
  private retry: number | undefined;
  /** Bytes of the current event's lines so far, for the cap. */
  private eventBytes = 0;
  private inEvent = false;
  /** Dropping lines up to the next blank line (event too large, or bytes lost). */
  private skipping = false;

  /**
   * @param onEvent called for each dispatched event, as soon as its blank line arrives
   * @param maxEventBytes cap on one event's lines (LIMITS.sseMaxEventBytes)
   * @param onTooLarge called once per event that goes over the cap (the event is dropped)
   * @param onEventStart called when the first byte of a new event's first field line arrives
   *   (lets the caller note the frame that carried it)
   */
  constructor(
    private readonly onEvent: (e: SseFields) => void,
    private readonly maxEventBytes: number,
    private readonly onTooLarge: () => void,
    private readonly onEventStart?: () => void,
  ) {}

  feed(bytes: Uint8Array): void {
    let i = 0;
    const n = bytes.length;
    if (this.bomMatched >= 0) {
      while (i < n && this.bomMatched >= 0) {
        if (bytes[i] === BOM[this.bomMatched]) {
          this.bomMatched++;
          i++;
          if (this.bomMatched === BOM.length) this.bomMatched = -1;
        } else {
          // Not a BOM after all: the bytes held back are stream data.
          const held = this.bomMatched;
          this.bomMatched = -1;
          if (held > 0) this.consume(new Uint8Array(BOM.slice(0, held)), 0, held);
        }
      }
    }
    if (i < n) this.consume(bytes, i, n);
  }

  /** End of stream: an event without its closing blank line is discarded (as the spec says). */
  end(): void {
    this.resetLine();
    this.resetEvent();
    this.skipping = false;
    this.lastCR = false;
  }

  /** Bytes were lost before the next feed: the current event is unreliable, skip to the next blank line. */
  gap(): void {
    this.resetLine();
    this.resetEvent();
    this.skipping = true;
    this.lastCR = false;
    this.bomMatched = -1;
  }

  private consume(bytes: Uint8Array, start: number, end: number): void {
    let i = start;
    if (this.lastCR) {
      this.lastCR = false;
      if (bytes[i] === LF) i++;
    }
    while (i < end) {
      let j = i;
      while (j < end) {
        const b = bytes[j]!;
        if (b === LF || b === CR) break;
        j++;
      }
      if (j > i && !this.lineStarted) this.beginLine(bytes[i]!);
      if (j === end) {
        this.appendPartial(bytes, i, end);
        return;
      }
      this.lineDone(bytes, i, j);
      if (bytes[j] === CR) {
        if (j + 1 < end) {
          if (bytes[j + 1] === LF) j++;
        } else {
          this.lastCR = true;
        }
      }
      i = j + 1;
    }
  }

  private beginLine(first: number): void {
    this.lineStarted = true;
    this.lineIsComment = first === COLON;
    if (!this.lineIsComment && !this.inEvent && !this.skipping) {
      this.inEvent = true;
      this.onEventStart?.();
    }
  }

  private appendPartial(bytes: Uint8Array, start: number, end: number): void {
    if (this.lineIsComment || this.skipping) return;
    const n = end - start;
    if (this.eventBytes + this.lineLen + n > this.maxEventBytes) {
      this.tooLarge();
      return;
    }
    if (this.lineLen + n > this.lineBuf.length) {
      let cap = this.lineBuf.length * 2;
      while (cap < this.lineLen + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.lineBuf.subarray(0, this.lineLen));
      this.lineBuf = next;
    }
    this.lineBuf.set(bytes.subarray(start, end), this.lineLen);
    this.lineLen += n;
  }

  /** A line ended; its last bytes are bytes[start..end) (after anything buffered). */
  private lineDone(bytes: Uint8Array, start: number, end: number): void {
    const blank = !this.lineStarted;
    const comment = this.lineIsComment;
    if (blank) {
      if (this.skipping) {
        this.skipping = false;
        this.resetEvent();
      } else {
        this.dispatch();
      }
      return;
    }
    if (comment || this.skipping) {
      this.resetLine();
      return;
    }
    const total = this.lineLen + (end - start);
    if (this.eventBytes + total > this.maxEventBytes) {
      this.tooLarge();
      this.resetLine();
      return;
    }
    let line: string;
    if (this.lineLen === 0) {
      line = utf8.decode(bytes.subarray(start, end));
    } else {
      this.appendPartial(bytes, start, end);
      line = utf8.decode(this.lineBuf.subarray(0, this.lineLen));
    }
    this.eventBytes += total + 1;
    this.resetLine();
    this.field(line);
  }

  private field(line: string): void {
    const colon = line.indexOf(':');
    let name: string;
    let value: string;
    if (colon < 0) {
      name = line;
      value = '';
    } else {
      name = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (name) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        // Unknown fields are ignored.
        break;
    }
  }

  private dispatch(): void {
    if (this.dataLines.length > 0) {
      const e: SseFields = {
        event: this.eventType !== undefined && this.eventType.length > 0 ? this.eventType : 'message',
        data: this.dataLines.join('\n'),
      };
      if (this.id !== undefined) e.id = this.id;
      if (this.retry !== undefined) e.retry = this.retry;
      this.resetEvent();
      this.onEvent(e);
      return;
    }
    this.resetEvent();
  }

  private tooLarge(): void {
    if (!this.skipping) this.onTooLarge();
    this.skipping = true;
    this.lineLen = 0;
    this.resetEvent();
  }

  private resetLine(): void {
    this.lineLen = 0;
    this.lineStarted = false;
    this.lineIsComment = false;
    if (this.lineBuf.length > 64 * 1024) this.lineBuf = new Uint8Array(256);
  }

  private resetEvent(): void {
    this.eventType = undefined;
    this.dataLines = [];
    this.id = undefined;
    this.retry = undefined;
    this.eventBytes = 0;
    this.inEvent = false;
  }
}
