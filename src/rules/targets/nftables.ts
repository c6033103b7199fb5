// nftables: one `inet shadowtap` table with named sets (IPv4 and IPv6) and output/forward/input chains.
// Host names cannot be matched by nftables (a name in a rule is resolved once at load), so names are
// listed as comments and left to the DNS targets.
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, clip, headerView, renderTemplate, type RenderOptions, type RuleTarget } from '../render.js';
import { safeExpr, word, type Safe } from '../safe.js';

/** nft refuses element comments longer than 128 bytes. */
const NFT_COMMENT_MAX = 120;

export const nftables: RuleTarget = {
  meta: { id: 'nftables', title: 'Shadow MCP block rules for nftables', fileName: 'shadowtap.nft', validator: 'nft -c -f shadowtap.nft' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const el = (value: Safe, comment: Safe) => ({ value, comment: clip(comment, NFT_COMMENT_MAX) });
    const endpoints = (action: 'block' | 'allow', family: 4 | 6, withPort: boolean) =>
      select(set, action, 'endpoint')
        .filter((r) => r.subject.family === family && (r.subject.port !== undefined) === withPort)
        .map((r) => el(withPort ? safeExpr`${r.subject.ip} . ${r.subject.port!}` : r.subject.ip, r.comment));
    const sets = [
      { name: word('allow_v4_endpoints'), type: word('ipv4_addr . inet_service'), elements: endpoints('allow', 4, true) },
      { name: word('allow_v6_endpoints'), type: word('ipv6_addr . inet_service'), elements: endpoints('allow', 6, true) },
      { name: word('allow_v4_hosts'), type: word('ipv4_addr'), elements: endpoints('allow', 4, false) },
      { name: word('allow_v6_hosts'), type: word('ipv6_addr'), elements: endpoints('allow', 6, false) },
      { name: word('block_v4_endpoints'), type: word('ipv4_addr . inet_service'), elements: endpoints('block', 4, true) },
      { name: word('block_v6_endpoints'), type: word('ipv6_addr . inet_service'), elements: endpoints('block', 6, true) },
      { name: word('block_v4_hosts'), type: word('ipv4_addr'), elements: endpoints('block', 4, false) },
      { name: word('block_v6_hosts'), type: word('ipv6_addr'), elements: endpoints('block', 6, false) },
      { name: word('block_ports'), type: word('inet_service'), elements: select(set, 'block', 'port').map((r) => el(r.subject.port, r.comment)) },
    ];
    const names = mergeScopes(select(set, 'block', 'name')).map((r) => ({ name: r.subject.name, subtree: r.subject.scope === 'subtree', comment: r.comment }));
    return renderTemplate(this.meta.id, { ...headerView(set, this.meta), sets, names }, options);
  },
};
