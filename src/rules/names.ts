// Name-list helpers shared by the DNS, proxy and IDS targets.
import type { RuleEntry } from './model.js';

/**
 * Merges exact and subtree entries of the same name (subtree wins) and drops names inside another
 * subtree of the list, for targets whose entries always cover subdomains (dnsmasq, Squid, Unbound zones):
 * Squid warns on such overlaps and dnsmasq/RPZ would carry duplicate records.
 */
export function pruneCovered(entries: Array<RuleEntry<'name'>>): Array<RuleEntry<'name'>> {
  const byName = new Map<string, RuleEntry<'name'>>();
  for (const e of entries) {
    const prev = byName.get(e.subject.name.value);
    if (!prev || (prev.subject.scope === 'exact' && e.subject.scope === 'subtree')) byName.set(e.subject.name.value, e);
  }
  const trees = [...byName.values()].filter((e) => e.subject.scope === 'subtree').map((e) => e.subject.name.value);
  return [...byName.values()]
    .filter((e) => !trees.some((t) => e.subject.name.value.endsWith('.' + t)))
    .sort((a, b) => (a.subject.name.value < b.subject.name.value ? -1 : a.subject.name.value > b.subject.name.value ? 1 : 0));
}

/** Same merge without dropping covered names (for targets that need each name's own scope). */
export function mergeScopes(entries: Array<RuleEntry<'name'>>): Array<RuleEntry<'name'>> {
  const byName = new Map<string, RuleEntry<'name'>>();
  for (const e of entries) {
    const prev = byName.get(e.subject.name.value);
    if (!prev || (prev.subject.scope === 'exact' && e.subject.scope === 'subtree')) byName.set(e.subject.name.value, e);
  }
  return [...byName.values()].sort((a, b) => (a.subject.name.value < b.subject.name.value ? -1 : a.subject.name.value > b.subject.name.value ? 1 : 0));
}
