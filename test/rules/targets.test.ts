// Every target: renders the fixture, lets no hostile value through, is deterministic under input
// shuffles, and passes its real offline validator when that binary is installed (skips visibly if not).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { TARGETS, buildRuleSet, findTarget } from '../../src/rules/index.js';
import { cloudflareBundleValidator } from '../../src/rules/targets/cloudflare.js';
import { expectValid, INJECTION_MARKER, loadFindings, manyFindings, shuffled, tempDir, validatorTest } from './helpers.js';

const findings = loadFindings();
const ALL = { minConfidence: 'low' as const, block: ['all' as const] };
const set = buildRuleSet(findings, ALL);
const rendered = new Map(TARGETS.map((t) => [t.meta.id, t.render(set)]));
const out = (id: string) => rendered.get(id)!;
const dir = tempDir('rules');
const fileOf = (id: string) => {
  const f = join(dir, findTarget(id)!.meta.fileName);
  writeFileSync(f, out(id));
  return f;
};

describe.each(TARGETS.map((t) => [t.meta.id]))('%s', (id) => {
  it('renders printable ASCII with no hostile value from the input', () => {
    const text = out(id);
    expect(text.length).toBeGreaterThan(100);
    expect(text).toMatch(/^[\x20-\x7e\t\n]*$/);
    expect(text).not.toMatch(INJECTION_MARKER);
    for (const bad of ['${', '%{', '`', '$(', '\r']) expect(text).not.toContain(bad);
  });

  it('is identical for shuffled input and stable across runs', () => {
    for (const seed of [3, 11]) {
      const again = findTarget(id)!.render(buildRuleSet(shuffled(findings, seed), ALL));
      expect(again).toBe(out(id));
    }
  });

  it('names the findings it blocks', () => {
    expect(out(id)).toMatch(/findings?:? [0-9a-f]{16}/i);
  });
});

describe('offline validators', () => {
  const checks: Array<[id: string, name: string]> = [
    ['nftables', 'nftables: nft -c -f accepts the table'],
    ['iptables', 'iptables: iptables-restore --test accepts the IPv4 rules'],
    ['ip6tables', 'ip6tables: ip6tables-restore --test accepts the IPv6 rules'],
    ['rpz', 'rpz: named-checkzone loads the zone with the computed serial'],
    ['unbound', 'unbound: unbound-checkconf reports no errors'],
    ['dnsmasq', 'dnsmasq: dnsmasq --test accepts the file'],
    ['squid', 'squid: squid -k parse accepts a squid.conf that includes the snippet, with no warnings'],
    ['suricata', 'suricata: suricata -T loads every rule'],
  ];
  for (const [id, name] of checks) validatorTest(id, name, () => expectValid(id, fileOf(id), set.serial));

  it('cloudflare API bundles match the Gateway request schema and use only documented actions', () => {
    const check = cloudflareBundleValidator();
    for (const id of ['cloudflare-dns', 'cloudflare-http', 'cloudflare-network']) {
      const doc = JSON.parse(out(id));
      expect(check(doc), JSON.stringify(check.errors)).toBe(true);
      const rules = doc.rules.map((r: { body: { action: string; precedence: number; filters: string[] } }) => r.body);
      // Allow policies come before (lower precedence than) every block of the same filter.
      const allowMax = Math.max(...rules.filter((r: { action: string }) => r.action === 'allow').map((r: { precedence: number }) => r.precedence));
      const blockMin = Math.min(...rules.filter((r: { action: string }) => r.action === 'block').map((r: { precedence: number }) => r.precedence));
      expect(allowMax).toBeLessThan(blockMin);
      for (const r of rules) checkExpression(r.traffic);
    }
  });

  it('cloudflare-dns blocks registry domains with subdomains and server hosts exactly', () => {
    const doc = JSON.parse(out('cloudflare-dns'));
    const traffic = doc.rules.map((r: { body: { traffic: string } }) => r.body.traffic).join('\n');
    expect(traffic).toMatch(/any\(dns\.domains\[\*\] in \{[^}]*"registry\.modelcontextprotocol\.io"/);
    expect(traffic).toMatch(/dns\.fqdn in \{[^}]*"mcp-dev\.corp\.example\.com"/);
  });

  it('cloudflare-http blocks host and path of HTTP MCP servers', () => {
    const doc = JSON.parse(out('cloudflare-http'));
    const t = doc.rules.map((r: { body: { traffic: string } }) => r.body.traffic);
    expect(t).toContain('http.request.host in {"mcp.staging.example.com"} and (http.request.uri.path == "/mcp" or http.request.uri.path == "/mcp/sse")');
  });

  it('cloudflare-network leaves loopback to host firewalls and says so', () => {
    const doc = JSON.parse(out('cloudflare-network'));
    expect(JSON.stringify(doc.rules)).not.toContain('127.0.0.1');
    expect(doc.notes.join(' ')).toContain('127.0.0.1');
  });

  it('cloudflare: many names move into Gateway lists of at most 1000 entries, referenced by placeholder', () => {
    const big = buildRuleSet(manyFindings(1200));
    const doc = JSON.parse(findTarget('cloudflare-dns')!.render(big));
    expect(cloudflareBundleValidator()(doc)).toBe(true);
    expect(doc.lists.map((l: { body: { items: unknown[] } }) => l.body.items.length)).toEqual([1000, 200]);
    const hosts = doc.rules.find((r: { body: { name: string } }) => /host names/.test(r.body.name)).body;
    expect(hosts.traffic).toBe('(dns.fqdn in $__LIST_shadowtap-dns-block-hosts-1__ or dns.fqdn in $__LIST_shadowtap-dns-block-hosts-2__)');
    const items = doc.lists.flatMap((l: { body: { items: Array<{ value: string }> } }) => l.body.items.map((i) => i.value));
    expect(new Set(items).size).toBe(1200);
  });

  it('cloudflare-terraform parses as HCL, with list references through format()', async () => {
    const parsed = (await parseHcl('shadowtap.tf', out('cloudflare-terraform'))) as TfDoc;
    const policies = parsed.resource.cloudflare_zero_trust_gateway_policy;
    const byName = Object.fromEntries(Object.entries(policies).map(([k, v]) => [k, v[0]!]));
    expect(byName.shadowtap_dns_block_domains!.traffic).toBe('any(dns.domains[*] in {"mcp.linear.app" "registry.modelcontextprotocol.io"})');
    expect(byName.shadowtap_dns_allow_approved!.action).toBe('allow');
    expect(byName.shadowtap_dns_allow_approved!.precedence).toBeLessThan(byName.shadowtap_dns_block_domains!.precedence);
    for (const p of Object.values(byName)) expect(['dns', 'http', 'l4']).toContain(p.filters[0]);

    const big = (await parseHcl('big.tf', findTarget('cloudflare-terraform')!.render(buildRuleSet(manyFindings(60))))) as TfDoc;
    const lists = big.resource.cloudflare_zero_trust_list;
    expect(Object.keys(lists)).toContain('shadowtap_dns_block_hosts_1');
    expect(lists.shadowtap_dns_block_hosts_1![0]!.items).toHaveLength(60);
    const dnsHosts = big.resource.cloudflare_zero_trust_gateway_policy.shadowtap_dns_block_hosts![0]!;
    expect(dnsHosts.traffic).toBe('${format("dns.fqdn in $%s", cloudflare_zero_trust_list.shadowtap_dns_block_hosts_1.id)}');
  });

  it('zeek-intel: every line has the #fields column count, known types, no spaces as separators', () => {
    const lines = out('zeek-intel').trimEnd().split('\n');
    expect(lines[0]).toBe('#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc');
    for (const l of lines.slice(1)) {
      const cols = l.split('\t');
      expect(cols).toHaveLength(lines[0]!.split('\t').length - 1);
      expect(['Intel::DOMAIN', 'Intel::ADDR', 'Intel::URL']).toContain(cols[1]);
      expect(cols[0]).not.toMatch(/\s/);
      expect(cols[2]).toBe('shadowtap');
      expect(cols[3]).toMatch(/^shadowtap finding [0-9a-f]{16} /);
    }
    expect(lines).toContain(lines.find((l) => l.startsWith('mcp.staging.example.com/mcp/sse\tIntel::URL')));
  });

  it('hosts: every rule line is an address and one LDH name', () => {
    const rules = out('hosts').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules.length).toBeGreaterThan(0);
    for (const l of rules) expect(l).toMatch(/^(0\.0\.0\.0|::) [a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
    expect(rules).toContain('0.0.0.0 registry.modelcontextprotocol.io');
    expect(rules.join('\n')).not.toContain('mcp-portal.corp.example.com');
  });

  it('windows-firewall: each command is New-/Remove-NetFirewallRule with single-quoted or numeric arguments', () => {
    const cmds = out('windows-firewall').split('\n').filter((l) => l && !l.startsWith('#'));
    for (const c of cmds) {
      expect(c).toMatch(/^(New|Remove)-NetFirewallRule( -[A-Za-z]+( ('[^']*'|[0-9]+|[A-Za-z]+))?)+$/);
    }
    expect(cmds.some((c) => c.includes("-RemoteAddress '2001:db8:85a3::8a2e:370:7334'") && c.includes('-RemotePort 3001'))).toBe(true);
    // 6274 has an approved server, which a Windows block rule would override: left out, with a note.
    expect(cmds.some((c) => c.includes('-LocalPort 6274'))).toBe(false);
    expect(out('windows-firewall')).toContain('# Port 6274 not blocked port-wide');
  });

  it('pf: tables per port, block rules referencing them, approved endpoint exempted with "! <table>"', () => {
    const text = out('pf');
    expect(text).toMatch(/^table <shadowtap_p3001> const \{ 2001:db8:85a3::8a2e:370:7334 \}$/m);
    expect(text).toMatch(/^block return out quick proto tcp from any to <shadowtap_p3001> port 3001$/m);
    expect(text).toMatch(/^table <shadowtap_allow_p6274> const \{ 10\.20\.0\.9 \}$/m);
    expect(text).toMatch(/^block return out quick proto tcp from any to ! <shadowtap_allow_p6274> port 6274$/m);
    for (const l of text.split('\n').filter((x) => x && !x.startsWith('#'))) expect(l).toMatch(/^(table <[a-z0-9_]+> const \{ [0-9a-f.:, ]+ \}|block return (in|out) quick .+)$/);
  });

  it('nftables: the approved endpoint is accepted before the drops, blocked endpoints are in typed sets', () => {
    const text = out('nftables');
    const accept = text.indexOf('ip daddr . tcp dport @allow_v4_endpoints accept');
    const drop = text.indexOf('ip daddr . tcp dport @block_v4_endpoints');
    expect(accept).toBeGreaterThan(0);
    expect(accept).toBeLessThan(drop);
    expect(text).toMatch(/10\.20\.0\.9 \. 6274 comment "shadowtap finding 1234abcd5678ef90/);
    expect(text).toMatch(/2001:db8:85a3::8a2e:370:7334 \. 3001 comment/);
  });
});

interface TfPolicy {
  traffic: string;
  action: string;
  precedence: number;
  filters: string[];
}
interface TfDoc {
  resource: {
    cloudflare_zero_trust_gateway_policy: Record<string, TfPolicy[]>;
    cloudflare_zero_trust_list: Record<string, Array<{ items: unknown[] }>>;
  };
}

/** A small tokenizer for the Gateway expressions we emit: balanced, known fields only, valid values. */
function checkExpression(expr: string): void {
  const FIELDS = new Set([
    'dns.fqdn', 'dns.domains', 'http.request.host', 'http.request.domains', 'http.request.uri.path',
    'net.dst.ip', 'net.dst.port', 'net.protocol', 'net.sni.host', 'net.sni.domains',
  ]);
  const re = /\s*(any\(|\(|\)|\{|\}|==|in\b|and\b|or\b|"[a-z0-9.\-/_]*"|\$__LIST_[a-z0-9-]+__|[a-z_]+(?:\.[a-z_]+)+(?:\[\*\])?|[0-9a-f.:]+)/y;
  let depth = 0;
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new Error(`unexpected text at ${pos} in ${expr}`);
    const tok = m[1]!;
    if (tok === '(' || tok === 'any(' || tok === '{') depth++;
    if (tok === ')' || tok === '}') depth--;
    expect(depth).toBeGreaterThanOrEqual(0);
    if (/^[a-z_]+\./.test(tok)) expect(FIELDS.has(tok.replace('[*]', '')), tok).toBe(true);
    pos = re.lastIndex;
  }
  expect(depth).toBe(0);
}
