// The registry of rule targets, in the order `--target all` renders them.
import type { RuleTarget } from './render.js';
import { cloudflareDns, cloudflareHttp, cloudflareNetwork, cloudflareTerraform } from './targets/cloudflare.js';
import { dnsmasq } from './targets/dnsmasq.js';
import { hosts } from './targets/hosts.js';
import { ip6tables, iptables } from './targets/iptables.js';
import { nftables } from './targets/nftables.js';
import { pf } from './targets/pf.js';
import { rpz } from './targets/rpz.js';
import { squid } from './targets/squid.js';
import { suricata } from './targets/suricata.js';
import { unbound } from './targets/unbound.js';
import { windowsFirewall } from './targets/windows-firewall.js';
import { zeekIntel } from './targets/zeek-intel.js';

export const TARGETS: readonly RuleTarget[] = [
  cloudflareDns,
  cloudflareHttp,
  cloudflareNetwork,
  cloudflareTerraform,
  nftables,
  iptables,
  ip6tables,
  pf,
  windowsFirewall,
  rpz,
  unbound,
  dnsmasq,
  hosts,
  squid,
  suricata,
  zeekIntel,
];

export function findTarget(id: string): RuleTarget | undefined {
  return TARGETS.find((t) => t.meta.id === id);
}

export { buildRuleSet, select, subjectText, type BlockRule, type AllowRule, type RuleSet, type RuleEntry, type ModelOptions, type BlockWhat } from './model.js';
export { RenderError, type RenderOptions, type RuleTarget, type TargetMeta } from './render.js';
