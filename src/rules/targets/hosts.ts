// hosts(5) blocklist: `0.0.0.0 name` and `:: name`. No wildcards exist, so a domain's subdomains are
// not covered (its apex is listed, with a note). Approved names are simply not listed.
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';

export const hosts: RuleTarget = {
  meta: { id: 'hosts', title: 'Shadow MCP hosts-file blocklist', fileName: 'shadowtap.hosts' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    return renderTemplate(this.meta.id, {
      ...headerView(set, this.meta),
      blocks: mergeScopes(select(set, 'block', 'name')).map((r) => ({ name: r.subject.name, subtree: r.subject.scope === 'subtree', comment: r.comment })),
    }, options);
  },
};
