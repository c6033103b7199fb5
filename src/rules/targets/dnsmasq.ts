// dnsmasq: `address=/name/` answers NXDOMAIN for the name and all its subdomains (dnsmasq has no
// exact-name form); `server=/name/#` sends approved names to the normal upstream servers (more
// specific domains win).
import { select, type RuleSet } from '../model.js';
import { pruneCovered } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';

export const dnsmasq: RuleTarget = {
  meta: { id: 'dnsmasq', title: 'Shadow MCP blocks for dnsmasq', fileName: 'shadowtap-dnsmasq.conf', validator: 'dnsmasq --test --conf-file=shadowtap-dnsmasq.conf' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const row = (r: ReturnType<typeof pruneCovered>[number]) => ({ name: r.subject.name, subtree: r.subject.scope === 'subtree', comment: r.comment });
    return renderTemplate(this.meta.id, {
      ...headerView(set, this.meta),
      allows: pruneCovered(select(set, 'allow', 'name')).map(row),
      blocks: pruneCovered(select(set, 'block', 'name')).map(row),
    }, options);
  },
};
