// Unbound `server:` clause: always_nxdomain zones for domains and their subdomains, local-data
// sinkholes for exact host names, and transparent zones that exempt approved names.
import { select, type RuleSet } from '../model.js';
import { mergeScopes, pruneCovered } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';

export const unbound: RuleTarget = {
  meta: { id: 'unbound', title: 'Shadow MCP blocks for Unbound', fileName: 'shadowtap-unbound.conf', validator: 'unbound-checkconf shadowtap-unbound.conf' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const row = (r: ReturnType<typeof mergeScopes>[number]) => ({ name: r.subject.name, subtree: r.subject.scope === 'subtree', comment: r.comment });
    return renderTemplate(this.meta.id, {
      ...headerView(set, this.meta),
      allows: mergeScopes(select(set, 'allow', 'name')).map(row),
      blocks: pruneCovered(select(set, 'block', 'name')).map(row),
    }, options);
  },
};
