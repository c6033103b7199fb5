// The matcher: signatures indexed by observation kind, then by a gate field, so an observation is
// checked only against signatures that can match it. Observations that match nothing cost a few
// map lookups; field reads use accessors compiled once per field name.
import type { ObservationKind } from '../observation.js';
import { accessor, type Accessor, type Fields } from './access.js';
import type { CompiledSignature, SignatureSet } from './types.js';

interface ValueTable {
  get: Accessor;
  nocase: boolean;
  /** gate value as text (lowercased for nocase gates) → signatures. */
  values: Map<string, CompiledSignature[]>;
}

interface PresenceGate {
  /** At least one must be present. */
  gets: Accessor[];
  sigs: CompiledSignature[];
}

interface KindIndex {
  byValue: ValueTable[];
  byPresence: PresenceGate[];
  ungated: CompiledSignature[];
}

export class SignatureIndex {
  private readonly kinds = new Map<ObservationKind, KindIndex>();
  /** Signatures already tested for the current observation (several gates may name one). */
  private readonly seen = new Set<CompiledSignature>();

  constructor(readonly set: SignatureSet) {
    for (const sig of set.signatures) for (const kind of sig.kinds) this.addTo(kind, sig);
  }

  private addTo(kind: ObservationKind, sig: CompiledSignature): void {
    let idx = this.kinds.get(kind);
    if (!idx) {
      idx = { byValue: [], byPresence: [], ungated: [] };
      this.kinds.set(kind, idx);
    }
    const gate = sig.gate;
    if (!gate) {
      idx.ungated.push(sig);
      return;
    }
    if (!gate.values) {
      const fields = gate.anyOf ?? [gate.field];
      const key = fields.join('\n');
      let pg = idx.byPresence.find((p) => (p as PresenceGate & { key?: string }).key === key) as (PresenceGate & { key?: string }) | undefined;
      if (!pg) {
        pg = { gets: fields.map(accessor), sigs: [], key };
        idx.byPresence.push(pg);
      }
      pg.sigs.push(sig);
      return;
    }
    let table = idx.byValue.find((t) => t.get === accessor(gate.field) && t.nocase === gate.nocase);
    if (!table) {
      table = { get: accessor(gate.field), nocase: gate.nocase, values: new Map() };
      idx.byValue.push(table);
    }
    for (const v of gate.values) {
      const key = String(v);
      const list = table.values.get(key) ?? [];
      if (!list.includes(sig)) list.push(sig);
      table.values.set(key, list);
    }
  }

  /** True when some signature could apply to observations of this kind. */
  hasKind(kind: ObservationKind): boolean {
    return this.kinds.has(kind);
  }

  /** Calls `onMatch` for each signature that matches these fields as an observation of `kind`. */
  match(kind: ObservationKind, fields: Fields, onMatch: (sig: CompiledSignature) => void): void {
    const idx = this.kinds.get(kind);
    if (!idx) return;
    const seen = this.seen;
    seen.clear();
    for (const table of idx.byValue) {
      const v = table.get(fields);
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) {
        for (const el of v) this.lookup(table, el, fields, onMatch);
      } else {
        this.lookup(table, v, fields, onMatch);
      }
    }
    for (const pg of idx.byPresence) {
      let present = false;
      for (const get of pg.gets) {
        if (get(fields) !== undefined) {
          present = true;
          break;
        }
      }
      if (present) for (const sig of pg.sigs) this.tryOne(sig, fields, onMatch);
    }
    for (const sig of idx.ungated) this.tryOne(sig, fields, onMatch);
    seen.clear();
  }

  private lookup(table: ValueTable, el: unknown, fields: Fields, onMatch: (sig: CompiledSignature) => void): void {
    if (typeof el !== 'string' && typeof el !== 'number' && typeof el !== 'boolean') return;
    const key = table.nocase && typeof el === 'string' ? el.toLowerCase() : String(el);
    const sigs = table.values.get(key);
    if (sigs) for (const sig of sigs) this.tryOne(sig, fields, onMatch);
  }

  private tryOne(sig: CompiledSignature, fields: Fields, onMatch: (sig: CompiledSignature) => void): void {
    if (this.seen.has(sig)) return;
    this.seen.add(sig);
    if (sig.test(fields)) onMatch(sig);
  }
}
