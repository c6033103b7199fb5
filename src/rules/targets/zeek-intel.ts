// Zeek Intel framework file (TSV). Intel::DOMAIN matches one name exactly (a domain's subdomains are
// not matched), Intel::ADDR addresses, Intel::URL host + path without scheme. Approved subjects are
// not listed. Detection only: hits go to intel.log.
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';
import { safeExpr, word, type Safe } from '../safe.js';

export const zeekIntel: RuleTarget = {
  meta: { id: 'zeek-intel', title: 'Shadow MCP Zeek intel', fileName: 'shadowtap.intel' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const rows: Array<{ indicator: Safe; type: Safe; desc: Safe }> = [];
    for (const r of mergeScopes(select(set, 'block', 'name'))) {
      rows.push({ indicator: r.subject.name, type: word('Intel::DOMAIN'), desc: r.comment });
    }
    const seenIp = new Set<string>();
    for (const r of select(set, 'block', 'endpoint')) {
      if (seenIp.has(r.subject.ip.value)) continue;
      seenIp.add(r.subject.ip.value);
      rows.push({ indicator: r.subject.ip, type: word('Intel::ADDR'), desc: r.comment });
    }
    for (const r of select(set, 'block', 'http')) {
      for (const p of r.subject.paths) rows.push({ indicator: safeExpr`${r.subject.host}${p}`, type: word('Intel::URL'), desc: r.comment });
    }
    return renderTemplate(this.meta.id, { ...headerView(set, this.meta), rows }, options);
  },
};
