// Values allowed into a rule template. Only validate.ts (and the few builders that combine validated
// values with fixed words) can make a Safe; templates and helpers refuse anything else, so a value
// that skipped validation makes rendering fail instead of reaching a firewall file.

export type SafeKind =
  | 'domain' // LDH host name, lower case ASCII, no trailing dot
  | 'ip' // canonical IPv4 or IPv6 text
  | 'cidr' // canonical network/prefix
  | 'port' // 1..65535 as decimal text
  | 'path' // HTTP path of [A-Za-z0-9._~/-]
  | 'id' // finding id, [0-9a-f]
  | 'word' // fixed word or name made by the renderer: [A-Za-z0-9 ._:=,/()+-]
  | 'comment' // built from validated values and fixed words, same charset as word
  | 'expr'; // target syntax built by a renderer from Safe parts (Gateway expression, HCL format() call)

const brand = Symbol('safe');

export class Safe {
  readonly kind: SafeKind;
  readonly value: string;
  readonly [brand] = true;

  /** Not exported: use the validators or the constructors below. */
  private constructor(kind: SafeKind, value: string) {
    this.kind = kind;
    this.value = value;
  }

  toString(): string {
    return this.value;
  }

  /** @internal used by validate.ts after a value passed its validator. */
  static unchecked(kind: SafeKind, value: string): Safe {
    return new Safe(kind, value);
  }
}

export function isSafe(v: unknown): v is Safe {
  return v instanceof Safe && (v as Safe)[brand] === true;
}

/** Charset of fixed words and comments: nothing that quotes, escapes, interpolates or ends a statement. */
export const WORD_RE = /^[A-Za-z0-9 ._:=,/()+-]*$/;

export class UnsafeValueError extends Error {
  constructor(where: string, value: unknown) {
    super(`refusing to render ${where}: ${describe(value)} did not pass a validator`);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `raw string ${JSON.stringify(v.slice(0, 60))}`;
  return typeof v;
}

/** A fixed word from renderer code (policy names, list names, words of a comment). Throws on anything else. */
export function word(text: string): Safe {
  if (!WORD_RE.test(text) || text.length > 512) throw new UnsafeValueError('word', text);
  return Safe.unchecked('word', text);
}

/** Template for composing expressions: tagged literal whose holes must be Safe or integers. */
export function safeExpr(strings: TemplateStringsArray, ...holes: Array<Safe | number>): Safe {
  let out = strings[0]!;
  holes.forEach((h, i) => {
    if (typeof h === 'number') {
      if (!Number.isInteger(h)) throw new UnsafeValueError('expr', h);
      out += String(h);
    } else {
      requireSafe(h, 'expr');
      out += h.value;
    }
    out += strings[i + 1]!;
  });
  return Safe.unchecked('expr', out);
}

export function requireSafe(v: unknown, where: string): Safe {
  if (!isSafe(v)) throw new UnsafeValueError(where, v);
  return v;
}

/**
 * Walks a template view model and throws on any raw string: everything a template can print is a
 * Safe, an integer, a boolean or null. This is the fail-closed gate in front of every render.
 */
export function assertSafeTree(v: unknown, path = 'view'): void {
  if (v === null || v === undefined || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new UnsafeValueError(path, v);
    return;
  }
  if (isSafe(v)) return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => assertSafeTree(x, `${path}[${i}]`));
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) assertSafeTree(x, `${path}.${k}`);
    return;
  }
  throw new UnsafeValueError(path, v);
}
