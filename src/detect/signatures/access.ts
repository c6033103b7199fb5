// Field accessors compiled once per field name: the same answer as getField (fields.ts), without
// splitting or joining strings per observation.
export type Fields = Record<string, unknown>;
export type Accessor = (fields: Fields) => unknown;

const hasOwn = Object.prototype.hasOwnProperty;
const cache = new Map<string, Accessor>();

export function accessor(name: string): Accessor {
  let a = cache.get(name);
  if (!a) {
    a = build(name);
    cache.set(name, a);
  }
  return a;
}

function build(name: string): Accessor {
  for (const root of ['jsonrpc.params', 'jsonrpc.result']) {
    if (!name.startsWith(`${root}.`)) continue;
    const segs = name.slice(root.length + 1).split('.');
    const n = segs.length;
    // keys[i][j] = segs[i..j) joined with '.', so dotted keys (io.modelcontextprotocol/x) are found too.
    const keys: string[][] = [];
    for (let i = 0; i < n; i++) {
      keys.push([]);
      for (let j = i + 1; j <= n; j++) keys[i][j] = segs.slice(i, j).join('.');
    }
    const look = (value: unknown, i: number): unknown => {
      if (i === n) return value;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      const row = keys[i];
      for (let j = n; j > i; j--) {
        const key = row[j];
        if (hasOwn.call(value, key)) {
          const found = look((value as Fields)[key], j);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    };
    return (fields) => (hasOwn.call(fields, name) ? fields[name] : look(fields[root], 0));
  }
  return (fields) => (hasOwn.call(fields, name) ? fields[name] : undefined);
}
