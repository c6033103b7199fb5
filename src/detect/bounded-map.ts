// A map that holds roughly the `cap` most recently written keys: two generations, the older dropped
// whole when the newer fills. O(1) per operation (no per-entry eviction scans), memory bounded.
export class BoundedMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly cap: number) {}

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      // Promote, so entries in use survive the next generation drop.
      this.old.delete(key);
      this.set(key, o);
    }
    return o;
  }

  set(key: K, value: V): void {
    if (!this.young.has(key) && this.young.size >= Math.max(1, this.cap >> 1)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}
