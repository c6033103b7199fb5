// One counter for everything the pipeline could not use: malformed, truncated or capped input.
// Names are dotted and stable (`tcp.hlen_too_small`, `log.unparsed_line`); a few example
// locations are kept per name so a report can say where to look.
import { LIMITS } from '../config/limits.js';

/** Where something was seen: a capture frame or a log line. */
export interface Location {
  file?: string;
  frame?: number;
  line?: number;
  flow?: string;
  detail?: string;
}

export interface AnomalySummary {
  name: string;
  count: number;
  examples: Location[];
}

export class Anomalies {
  private readonly counts = new Map<string, number>();
  private readonly examples = new Map<string, Location[]>();

  constructor(private readonly maxExamples: number = LIMITS.anomalyExamples) {}

  /** Count one occurrence. `where` may be a function so callers build the location only when it is kept. */
  add(name: string, where?: Location | (() => Location)): void {
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    if (where === undefined || n > this.maxExamples) return;
    const list = this.examples.get(name) ?? [];
    list.push(typeof where === 'function' ? where() : where);
    this.examples.set(name, list);
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  get total(): number {
    let t = 0;
    for (const n of this.counts.values()) t += n;
    return t;
  }

  merge(other: Anomalies): void {
    for (const s of other.summary()) {
      this.counts.set(s.name, (this.counts.get(s.name) ?? 0) + s.count);
      const list = this.examples.get(s.name) ?? [];
      for (const e of s.examples) if (list.length < this.maxExamples) list.push(e);
      this.examples.set(s.name, list);
    }
  }

  /** Sorted by name, so output is deterministic. */
  summary(): AnomalySummary[] {
    return [...this.counts.keys()].sort().map((name) => ({
      name,
      count: this.counts.get(name)!,
      examples: this.examples.get(name) ?? [],
    }));
  }
}
