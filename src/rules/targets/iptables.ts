// iptables / ip6tables in iptables-restore format: user chains SHADOWTAP_OUT and SHADOWTAP_IN, jumped
// to from OUTPUT, FORWARD and INPUT; approved endpoints RETURN before the rejects.
import { assertRuleSet, chunk, clip, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';
import { select, type RuleEntry, type RuleSet } from '../model.js';
import { safeExpr, word, type Safe } from '../safe.js';

/** The multiport match takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;
/** The comment match stores at most 255 bytes. */
const COMMENT_MAX = 240;

function view(set: RuleSet, family: 4 | 6): Record<string, unknown> {
  const bits = family === 4 ? 32 : 128;
  const line = (r: RuleEntry<'endpoint'>) => ({
    dest: safeExpr`${r.subject.ip}/${bits}`,
    port: r.subject.port ?? null,
    comment: clip(r.comment, COMMENT_MAX),
  });
  const eps = (action: 'block' | 'allow') => select(set, action, 'endpoint').filter((r) => r.subject.family === family).map(line);
  const ports = select(set, 'block', 'port');
  const portGroups = chunk(ports, MULTIPORT_MAX).map((group) => ({
    ports: group.map((r) => r.subject.port),
    comment: clip(word(`shadowtap MCP ports, findings ${[...new Set(group.flatMap((r) => r.because.map((b: Safe) => b.value)))].join(' ')}`), COMMENT_MAX),
  }));
  return { ...headerView(set, family === 4 ? iptables.meta : ip6tables.meta), family, allows: eps('allow'), blocks: eps('block'), portGroups };
}

export const iptables: RuleTarget = {
  meta: { id: 'iptables', title: 'Shadow MCP block rules for iptables (IPv4)', fileName: 'shadowtap.rules.v4', validator: 'iptables-restore --test shadowtap.rules.v4' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    return renderTemplate('iptables', view(set, 4), options);
  },
};

export const ip6tables: RuleTarget = {
  meta: { id: 'ip6tables', title: 'Shadow MCP block rules for ip6tables (IPv6)', fileName: 'shadowtap.rules.v6', validator: 'ip6tables-restore --test shadowtap.rules.v6' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    return renderTemplate('ip6tables', view(set, 6), options);
  },
};
