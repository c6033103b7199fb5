// DNS Response Policy Zone (BIND 9, Unbound, Knot, PowerDNS): `name CNAME .` answers NXDOMAIN,
// `*.name CNAME .` covers subdomains, `CNAME rpz-passthru.` exempts approved names (exact beats wildcard).
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';

export const rpz: RuleTarget = {
  meta: { id: 'rpz', title: 'Shadow MCP DNS response policy zone', fileName: 'rpz.shadowtap.zone', validator: 'named-checkzone rpz.shadowtap rpz.shadowtap.zone' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const row = (r: ReturnType<typeof mergeScopes>[number]) => ({ name: r.subject.name, subtree: r.subject.scope === 'subtree', comment: r.comment });
    return renderTemplate(this.meta.id, {
      ...headerView(set, this.meta),
      serial: set.serial,
      allows: mergeScopes(select(set, 'allow', 'name')).map(row),
      blocks: mergeScopes(select(set, 'block', 'name')).map(row),
    }, options);
  },
};
