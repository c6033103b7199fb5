// Suricata 7 rules: dns.query, tls.sni and http.host for names (dotprefix + endswith for a domain and
// its subdomains), tcp rules for server endpoints and bridge ports, `pass` rules first for approved
// subjects, and fixed content rules for MCP JSON-RPC bodies and MCP headers (in the template).
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, stableHash, type RenderOptions, type RuleTarget } from '../render.js';
import { safeExpr, word, type Safe } from '../safe.js';

/** Generated rules take sids in [SID_BASE, SID_BASE + SID_SPAN); the template's fixed rules use 9000001-9000099. */
const SID_BASE = 9_100_000;
const SID_SPAN = 800_000;

export const suricata: RuleTarget = {
  meta: { id: 'suricata', title: 'Shadow MCP rules for Suricata 7', fileName: 'shadowtap.rules', validator: 'suricata -T -S shadowtap.rules -c suricata.yaml' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const action = word(options.suricataAction ?? 'alert');
    const used = new Set<number>();
    // A sid derived from the subject stays the same when other findings come and go.
    const sid = (key: string): number => {
      let n = SID_BASE + (parseInt(stableHash(key), 16) % SID_SPAN);
      while (used.has(n)) n = n + 1 >= SID_BASE + SID_SPAN ? SID_BASE : n + 1;
      used.add(n);
      return n;
    };
    const nameRules = (act: 'allow' | 'block') =>
      mergeScopes(select(set, act, 'name')).map((r) => {
        const subtree = r.subject.scope === 'subtree';
        return {
          subtree,
          content: subtree ? safeExpr`.${r.subject.name}` : r.subject.name,
          msg: word(`${act === 'allow' ? 'approved MCP' : 'MCP server'} name ${r.subject.name.value}${subtree ? ' and subdomains' : ''}`),
          comment: r.comment,
          sidDns: sid(`${act}|dns|${r.key}`),
          sidTls: sid(`${act}|tls|${r.key}`),
          sidHttp: sid(`${act}|http|${r.key}`),
        };
      });
    const endpointRules = (act: 'allow' | 'block') =>
      select(set, act, 'endpoint').map((r) => ({
        ip: r.subject.ip,
        port: r.subject.port ?? word('any'),
        msg: word(`${act === 'allow' ? 'approved MCP' : 'MCP server'} endpoint ${r.subject.ip.value}${r.subject.port ? ' port ' + r.subject.port.value : ''}`),
        comment: r.comment,
        sid: sid(`${act}|${r.key}`),
      }));
    const ports = select(set, 'block', 'port');
    const portRule = ports.length
      ? { list: safeExpr`[${word(ports.map((p) => p.subject.port.value).join(','))}]`, sid: sid(`ports|${ports.map((p) => p.key).join(',')}`), comment: word(`findings ${[...new Set(ports.flatMap((p) => p.because.map((b: Safe) => b.value)))].slice(0, 8).join(' ')}`) }
      : null;
    return renderTemplate(this.meta.id, {
      ...headerView(set, this.meta),
      action,
      allowNames: nameRules('allow'),
      allowEndpoints: endpointRules('allow'),
      blockNames: nameRules('block'),
      blockEndpoints: endpointRules('block'),
      portRule,
    }, options);
  },
};
