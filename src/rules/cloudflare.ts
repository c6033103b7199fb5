// Cloudflare Gateway plan shared by the API-body targets and the Terraform target: which policies and
// Gateway lists to create, with their expressions (wirefilter dialect, research A.3-A.6). Values are
// written inline while few, and moved to DOMAIN/IP lists when many (A.7: 1,000 entries per list,
// 100 lists per account). Allow policies for approved servers get lower precedence numbers than the
// blocks of the same filter, so Gateway's first match lets them through.
import { LIMITS } from '../config/limits.js';
import { select, type RuleEntry, type RuleSet } from './model.js';
import { mergeScopes } from './names.js';
import { assertRuleSet, chunk, hclString, stableHash, type RenderOptions } from './render.js';
import { requireSafe, Safe, safeExpr, word } from './safe.js';

export type GatewayFilter = 'dns' | 'http' | 'l4';

/** Actions Gateway documents per filter (research A.2); anything else fails the render. */
export const ACTIONS_BY_FILTER: Record<GatewayFilter, readonly string[]> = {
  dns: ['allow', 'block', 'override', 'safesearch', 'ytrestricted'],
  http: ['allow', 'block', 'redirect', 'isolate', 'off', 'noisolate', 'noscan', 'quarantine'],
  l4: ['allow', 'block', 'l4_override'],
};

export interface GatewayList {
  /** Terraform resource name, [a-z0-9_]. */
  ref: Safe;
  /** List name in Gateway, also the placeholder key in API bodies. */
  name: Safe;
  type: Safe; // DOMAIN | IP
  description: Safe;
  items: Array<{ value: Safe; description: Safe }>;
}

type Segment = { text: Safe } | { list: GatewayList };

export interface GatewayPolicy {
  ref: Safe;
  name: Safe;
  description: Safe;
  action: Safe;
  filter: Safe;
  precedence: number;
  segments: Segment[];
  blockReason: Safe | null;
}

export interface GatewayPlan {
  lists: GatewayList[];
  policies: GatewayPolicy[];
  notes: Safe[];
}

const BLOCK_REASON = 'Unapproved MCP server (shadowtap)';
const DESCRIPTION_MAX = 480;

export function gatewayPlan(set: RuleSet, filters: readonly GatewayFilter[], options: RenderOptions = {}): GatewayPlan {
  assertRuleSet(set);
  const plan: GatewayPlan = { lists: [], policies: [], notes: [] };
  const base = options.cloudflarePrecedenceBase ?? 10_000;
  const band: Record<GatewayFilter, number> = { dns: base, http: base + 10_000, l4: base + 20_000 };
  const b = new Builder(plan);
  for (const filter of filters) {
    if (filter === 'dns') dnsPolicies(set, b, band.dns);
    if (filter === 'http') httpPolicies(set, b, band.http);
    if (filter === 'l4') networkPolicies(set, b, band.l4);
  }
  return plan;
}

/** Traffic text for the API: a list is `$__LIST_<name>__` until the list is created and its id known. */
export function apiTraffic(p: GatewayPolicy): Safe {
  let out = '';
  for (const s of p.segments) out += 'text' in s ? s.text.value : `$__LIST_${s.list.name.value}__`;
  return Safe.unchecked('expr', out);
}

/** Traffic for Terraform: a quoted string, or format("... $%s ...", cloudflare_zero_trust_list.x.id). */
export function terraformTraffic(p: GatewayPolicy): Safe {
  const refs: string[] = [];
  let fmt = '';
  for (const s of p.segments) {
    if ('text' in s) {
      if (s.text.value.includes('%')) throw new Error('unexpected % in a Gateway expression');
      fmt += s.text.value;
    } else {
      fmt += '$%s';
      refs.push(`cloudflare_zero_trust_list.${s.list.ref.value}.id`);
    }
  }
  const text = refs.length === 0 ? hclString(fmt) : `format(${hclString(fmt)}, ${refs.join(', ')})`;
  return Safe.unchecked('expr', text);
}

// ---- policy builders ---------------------------------------------------------------------------

function dnsPolicies(set: RuleSet, b: Builder, band: number): void {
  const allow = mergeScopes(select(set, 'allow', 'name'));
  const exact = (list: Array<RuleEntry<'name'>>) => list.filter((r) => r.subject.scope === 'exact');
  const tree = (list: Array<RuleEntry<'name'>>) => list.filter((r) => r.subject.scope === 'subtree');
  const blocked = mergeScopes(select(set, 'block', 'name'));
  b.policy('dns', 'allow', band, 'shadowtap_dns_allow_approved', 'Shadow MCP: allow approved MCP servers and portals (DNS)', [
    b.scalarIn('dns', 'dns.fqdn', 'allow-hosts', exact(allow).map(nameItem)),
    b.arrayIn('dns', 'dns.domains', 'allow-domains', tree(allow).map(nameItem)),
  ]);
  b.policy('dns', 'block', band + 100, 'shadowtap_dns_block_domains', 'Shadow MCP: block MCP registry and hosted MCP domains (DNS)', [
    b.arrayIn('dns', 'dns.domains', 'block-domains', tree(blocked).map(nameItem)),
  ]);
  b.policy('dns', 'block', band + 101, 'shadowtap_dns_block_hosts', 'Shadow MCP: block MCP server host names (DNS)', [
    b.scalarIn('dns', 'dns.fqdn', 'block-hosts', exact(blocked).map(nameItem)),
  ]);
}

function httpPolicies(set: RuleSet, b: Builder, band: number): void {
  const allow = mergeScopes(select(set, 'allow', 'name'));
  const blocked = mergeScopes(select(set, 'block', 'name'));
  const http = select(set, 'block', 'http');
  const withPaths = new Set(http.map((r) => r.subject.host.value));
  b.policy('http', 'allow', band, 'shadowtap_http_allow_approved', 'Shadow MCP: allow approved MCP servers and portals (HTTP)', [
    b.scalarIn('http', 'http.request.host', 'allow-hosts', allow.filter((r) => r.subject.scope === 'exact').map(nameItem)),
    b.arrayIn('http', 'http.request.domains', 'allow-domains', allow.filter((r) => r.subject.scope === 'subtree').map(nameItem)),
  ]);
  b.policy('http', 'block', band + 100, 'shadowtap_http_block_domains', 'Shadow MCP: block MCP registry and hosted MCP domains (HTTP)', [
    b.arrayIn('http', 'http.request.domains', 'block-domains', blocked.filter((r) => r.subject.scope === 'subtree').map(nameItem)),
  ]);
  b.policy('http', 'block', band + 101, 'shadowtap_http_block_hosts', 'Shadow MCP: block MCP server hosts (HTTP)', [
    b.scalarIn('http', 'http.request.host', 'block-hosts', blocked.filter((r) => r.subject.scope === 'exact' && !withPaths.has(r.subject.name.value)).map(nameItem)),
  ]);
  // Host + path: one policy per distinct set of MCP endpoint paths.
  const byPaths = new Map<string, Array<RuleEntry<'http'>>>();
  for (const r of http) {
    const k = r.subject.paths.map((p) => p.value).join(' ');
    byPaths.set(k, [...(byPaths.get(k) ?? []), r]);
  }
  let prec = band + 102;
  for (const k of [...byPaths.keys()].sort()) {
    const group = byPaths.get(k)!;
    const paths = group[0]!.subject.paths;
    const hostCond = b.scalarIn('http', 'http.request.host', `block-paths-${stableHash(k)}`, group.map((r) => ({ value: r.subject.host, description: r.comment, quoted: true, because: r.because })));
    if (!hostCond) continue;
    const pathText = paths.map((p) => safeExpr`http.request.uri.path == "${p}"`.value).join(' or ');
    b.policy('http', 'block', prec++, `shadowtap_http_block_paths_${stableHash(k)}`, `Shadow MCP: block MCP endpoint paths ${k} (HTTP)`, [
      [...hostCond, { text: Safe.unchecked('expr', ` and (${pathText})`) }],
    ], 'and');
  }
}

function networkPolicies(set: RuleSet, b: Builder, band: number): void {
  const reachable = (r: RuleEntry<'endpoint'>): boolean => {
    if (!neverReachesGateway(r.subject.ip.value, r.subject.family)) return true;
    b.note(`network: ${r.subject.ip.value} is loopback or link-local and never reaches Gateway, use a host firewall target`);
    return false;
  };
  const allowEps = select(set, 'allow', 'endpoint').filter(reachable);
  const blockEps = select(set, 'block', 'endpoint').filter(reachable);
  const allowNames = mergeScopes(select(set, 'allow', 'name'));
  const blockNames = mergeScopes(select(set, 'block', 'name'));

  const byPort = (eps: Array<RuleEntry<'endpoint'>>) => {
    const m = new Map<number, Array<RuleEntry<'endpoint'>>>();
    for (const r of eps) m.set(r.subject.portN ?? 0, [...(m.get(r.subject.portN ?? 0) ?? []), r]);
    return [...m.entries()].sort((x, y) => x[0] - y[0]);
  };
  const epConds = (eps: Array<RuleEntry<'endpoint'>>, tag: string): Segment[][] =>
    byPort(eps).flatMap(([port, group]) => {
      const ipCond = b.scalarIn('l4', 'net.dst.ip', `${tag}-ips-${port || 'any'}`, group.map(ipItem));
      if (!ipCond) return [];
      if (port === 0) return [ipCond];
      return [[{ text: Safe.unchecked('expr', `(net.protocol == "tcp" and net.dst.port == ${port} and `) }, ...ipCond, { text: word(')') }]];
    });

  b.policy('l4', 'allow', band, 'shadowtap_l4_allow_approved', 'Shadow MCP: allow approved MCP servers and portals (Network)', [
    ...epConds(allowEps, 'allow'),
    b.scalarIn('l4', 'net.sni.host', 'allow-sni-hosts', allowNames.filter((r) => r.subject.scope === 'exact').map(nameItem)),
    b.arrayIn('l4', 'net.sni.domains', 'allow-sni-domains', allowNames.filter((r) => r.subject.scope === 'subtree').map(nameItem)),
  ]);
  b.policy('l4', 'block', band + 100, 'shadowtap_l4_block_endpoints', 'Shadow MCP: block MCP server endpoints (Network)', epConds(blockEps, 'block'));
  b.policy('l4', 'block', band + 101, 'shadowtap_l4_block_sni', 'Shadow MCP: block MCP server names by SNI (Network)', [
    b.scalarIn('l4', 'net.sni.host', 'block-sni-hosts', blockNames.filter((r) => r.subject.scope === 'exact').map(nameItem)),
    b.arrayIn('l4', 'net.sni.domains', 'block-sni-domains', blockNames.filter((r) => r.subject.scope === 'subtree').map(nameItem)),
  ]);
  const ports = select(set, 'block', 'port');
  if (ports.length > 0) {
    const portSet = ports.map((r) => r.subject.port.value).join(' ');
    b.policy('l4', 'block', band + 102, 'shadowtap_l4_block_ports', 'Shadow MCP: block MCP bridge and dev-tool ports (Network)', [
      [{ text: Safe.unchecked('expr', `net.protocol == "tcp" and net.dst.port in {${word(portSet).value}}`) }],
    ], 'or', ports);
  }
}

// ---- pieces -----------------------------------------------------------------------------------

interface Item {
  value: Safe;
  description: Safe;
  /** Strings are quoted in expressions; IPs are bare. */
  quoted: boolean;
  because?: Safe[];
}

const nameItem = (r: RuleEntry<'name'>): Item => ({ value: r.subject.name, description: r.comment, quoted: true, because: r.because });
const ipItem = (r: RuleEntry<'endpoint'>): Item => ({ value: r.subject.ip, description: r.comment, quoted: false, because: r.because });

class Builder {
  private readonly perFilter: Record<GatewayFilter, number> = { dns: 0, http: 0, l4: 0 };
  /** Finding ids of the items used since the last policy(): named in that policy's description. */
  private pendingIds = new Set<string>();

  constructor(private readonly plan: GatewayPlan) {}

  note(text: string): void {
    const w = word(text);
    if (!this.plan.notes.some((n) => n.value === w.value)) this.plan.notes.push(w);
  }

  /** `field in {"a" "b"}` or `field in $list` (OR'd over several lists). Null when there are no items. */
  scalarIn(filter: GatewayFilter, field: string, tag: string, items: Item[]): Segment[] | null {
    return this.membership(filter, tag, items, (set) => `${field} in ${set}`);
  }

  /** `any(field[*] in {...})` for array fields (domains with their subdomains). */
  arrayIn(filter: GatewayFilter, field: string, tag: string, items: Item[]): Segment[] | null {
    return this.membership(filter, tag, items, (set) => `any(${field}[*] in ${set})`);
  }

  private membership(filter: GatewayFilter, tag: string, items: Item[], form: (set: string) => string): Segment[] | null {
    if (items.length === 0) return null;
    for (const it of items) for (const id of it.because ?? []) this.pendingIds.add(id.value);
    if (items.length <= LIMITS.cloudflareInlineValuesMax) {
      const values = items.map((i) => (i.quoted ? `"${requireSafe(i.value, filter).value}"` : requireSafe(i.value, filter).value)).join(' ');
      return [{ text: Safe.unchecked('expr', form(`{${values}}`)) }];
    }
    const parts = chunk(items, LIMITS.cloudflareListMaxItems);
    const segs: Segment[] = [];
    parts.forEach((part, i) => {
      if (this.plan.lists.length >= LIMITS.cloudflareMaxLists) {
        this.note(`${part.length} values of ${filter} ${tag} not written: the account limit of ${LIMITS.cloudflareMaxLists} Gateway lists is reached`);
        return;
      }
      const list: GatewayList = {
        ref: word(`shadowtap_${filter}_${tag.replace(/-/g, '_')}_${i + 1}`),
        name: word(`shadowtap-${filter}-${tag}-${i + 1}`),
        type: word(items[0]!.quoted ? 'DOMAIN' : 'IP'),
        description: word(`Generated by shadowtap: ${filter} ${tag.replace(/-/g, ' ')}, part ${i + 1} of ${parts.length}`),
        items: part.map((it) => ({ value: it.value, description: it.description })),
      };
      this.plan.lists.push(list);
      if (segs.length > 0) segs.push({ text: word(' or ') });
      const [pre, post] = form('\u0000').split('\u0000') as [string, string];
      segs.push({ text: Safe.unchecked('expr', pre) }, { list }, { text: Safe.unchecked('expr', post) });
    });
    if (segs.length === 0) return null;
    return parts.length > 1 ? [{ text: word('(') }, ...segs, { text: word(')') }] : segs;
  }

  /** One policy whose traffic ORs the given conditions; skipped when all are empty. */
  policy(
    filter: GatewayFilter,
    action: 'allow' | 'block',
    precedence: number,
    ref: string,
    name: string,
    conds: Array<Segment[] | null>,
    join: 'or' | 'and' = 'or',
    entries?: Array<{ because: Safe[] }>,
  ): void {
    const present = conds.filter((c): c is Segment[] => c !== null && c.length > 0);
    const ids = this.pendingIds;
    this.pendingIds = new Set();
    for (const e of entries ?? []) for (const id of e.because) ids.add(id.value);
    if (present.length === 0) return;
    if (!ACTIONS_BY_FILTER[filter].includes(action)) throw new Error(`action ${action} not allowed for ${filter}`);
    if (this.perFilter[filter] >= LIMITS.cloudflareMaxPoliciesPerFilter) {
      this.note(`policy ${name} not written: ${LIMITS.cloudflareMaxPoliciesPerFilter} ${filter} policies per account reached`);
      return;
    }
    this.perFilter[filter]++;
    const segments: Segment[] = [];
    present.forEach((c, i) => {
      if (i > 0) segments.push({ text: word(join === 'or' ? ' or ' : ' and ') });
      const wrap = present.length > 1 && join === 'or';
      if (wrap) segments.push({ text: word('(') });
      segments.push(...c);
      if (wrap) segments.push({ text: word(')') });
    });
    this.plan.policies.push({
      ref: word(ref),
      name: word(name),
      description: word(describe(name, [...ids].sort())),
      action: word(action),
      filter: word(filter),
      precedence,
      segments,
      blockReason: action === 'block' ? word(BLOCK_REASON) : null,
    });
  }
}

function describe(name: string, ids: string[]): string {
  const head = `Generated by shadowtap. ${name}.`;
  if (ids.length === 0) return head;
  let text = `${head} Findings: ${ids.slice(0, 20).join(' ')}${ids.length > 20 ? ` (+${ids.length - 20} more)` : ''}`;
  if (text.length > DESCRIPTION_MAX) text = text.slice(0, DESCRIPTION_MAX - 4).replace(/ [^ ]*$/, '') + ' ...';
  return text;
}

/** Loopback and link-local traffic never reaches Gateway (research A.6). */
function neverReachesGateway(ip: string, family: 4 | 6): boolean {
  if (family === 4) return ip.startsWith('127.') || ip.startsWith('169.254.');
  return ip === '::1' || /^fe[89ab]/.test(ip);
}
