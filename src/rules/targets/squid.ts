// Squid ACLs: dstdomain for names (leading dot = domain and subdomains), dst + port for server
// endpoints, port for bridge ports; approved names and endpoints are excluded with `!acl`, so this
// snippet never grants access that the rest of squid.conf denies.
import { select, type RuleSet } from '../model.js';
import { pruneCovered } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';
import { safeExpr, word, type Safe } from '../safe.js';

export const squid: RuleTarget = {
  meta: { id: 'squid', title: 'Shadow MCP ACLs for Squid', fileName: 'shadowtap-squid.conf', validator: 'squid -k parse -f squid.conf (with include shadowtap-squid.conf)' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const domainEntry = (r: ReturnType<typeof pruneCovered>[number]) => ({
      value: r.subject.scope === 'subtree' ? safeExpr`.${r.subject.name}` : r.subject.name,
      comment: r.comment,
    });
    const allowDomains = pruneCovered(select(set, 'allow', 'name')).map(domainEntry);
    const blockDomains = pruneCovered(select(set, 'block', 'name')).map(domainEntry);

    // Endpoints grouped by port (host-only endpoints in their own ACL).
    const groups = new Map<string, { port: Safe | null; ips: Array<{ ip: Safe; comment: Safe }> }>();
    for (const r of select(set, 'block', 'endpoint')) {
      const k = r.subject.port?.value ?? '';
      const g = groups.get(k) ?? { port: r.subject.port ?? null, ips: [] };
      g.ips.push({ ip: r.subject.ip, comment: r.comment });
      groups.set(k, g);
    }
    const endpointGroups = [...groups.values()]
      .sort((a, b) => Number(a.port?.value ?? 0) - Number(b.port?.value ?? 0))
      .map((g) => ({ acl: word(`shadowtap_block_dst_${g.port?.value ?? 'any'}`), portAcl: g.port ? word(`shadowtap_port_${g.port.value}`) : null, port: g.port, ips: g.ips }));

    const allowEps = select(set, 'allow', 'endpoint').filter((r) => r.subject.port !== undefined);
    const ports = select(set, 'block', 'port').map((r) => {
      const exempt = allowEps.filter((a) => a.subject.portN === r.subject.portN).map((a) => a.subject.ip);
      return {
        port: r.subject.port,
        acl: word(`shadowtap_block_port_${r.subject.port.value}`),
        exemptAcl: exempt.length ? word(`shadowtap_allow_dst_${r.subject.port.value}`) : null,
        exempt,
        comment: r.comment,
      };
    });
    return renderTemplate(this.meta.id, { ...headerView(set, this.meta), allowDomains, blockDomains, endpointGroups, ports }, options);
  },
};
