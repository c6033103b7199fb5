// pf (OpenBSD/FreeBSD pf.conf): tables of server addresses per port and `block return ... quick`
// rules. Approved endpoints on a blocked port are exempted with `to ! <table>` (a `pass quick` would
// also bypass every later rule of the host's own policy).
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';
import { word, type Safe } from '../safe.js';

export const pf: RuleTarget = {
  meta: { id: 'pf', title: 'Shadow MCP block rules for pf', fileName: 'shadowtap.pf.conf', validator: 'pfctl -nf shadowtap.pf.conf (BSD only)' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const groups = new Map<string, { port: Safe | null; addrs: Array<{ ip: Safe; comment: Safe }> }>();
    for (const r of select(set, 'block', 'endpoint')) {
      const k = r.subject.port?.value ?? '';
      const g = groups.get(k) ?? { port: r.subject.port ?? null, addrs: [] };
      g.addrs.push({ ip: r.subject.ip, comment: r.comment });
      groups.set(k, g);
    }
    const tables = [...groups.values()]
      .sort((a, b) => Number(a.port?.value ?? 0) - Number(b.port?.value ?? 0))
      .map((g) => ({ name: word(g.port ? `shadowtap_p${g.port.value}` : 'shadowtap_hosts'), port: g.port, addrs: g.addrs, ips: g.addrs.map((a) => a.ip) }));
    const allowEps = select(set, 'allow', 'endpoint').filter((r) => r.subject.port !== undefined);
    const ports = select(set, 'block', 'port').map((r) => {
      const exempt = allowEps.filter((a) => a.subject.portN === r.subject.portN).map((a) => a.subject.ip);
      return { port: r.subject.port, comment: r.comment, exemptTable: exempt.length ? word(`shadowtap_allow_p${r.subject.port.value}`) : null, exempt };
    });
    const names = mergeScopes(select(set, 'block', 'name')).map((r) => ({ name: r.subject.name, comment: r.comment }));
    return renderTemplate(this.meta.id, { ...headerView(set, this.meta), tables, ports, names }, options);
  },
};
