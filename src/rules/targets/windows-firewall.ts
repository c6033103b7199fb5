// Windows Defender Firewall: PowerShell New-NetFirewallRule calls in group 'ShadowTap'. Block rules
// override allow rules in Windows Firewall, so approved endpoints cannot be exempted from a port-wide
// block: such ports are left out (with a note) rather than cutting an approved server.
import { select, type RuleSet } from '../model.js';
import { mergeScopes } from '../names.js';
import { assertRuleSet, headerView, renderTemplate, stableHash, type RenderOptions, type RuleTarget } from '../render.js';
import { word } from '../safe.js';

export const windowsFirewall: RuleTarget = {
  meta: { id: 'windows-firewall', title: 'Shadow MCP rules for Windows Defender Firewall', fileName: 'shadowtap-firewall.ps1' },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const endpoints = select(set, 'block', 'endpoint').map((r) => ({
      name: word(`ShadowTap-${stableHash(r.key)}`),
      display: word(`Shadow MCP: block ${r.subject.ip.value}${r.subject.port ? ' port ' + r.subject.port.value : ''}`),
      ip: r.subject.ip,
      port: r.subject.port ?? null,
      comment: r.comment,
    }));
    const allowEps = select(set, 'allow', 'endpoint');
    const ports = [];
    const skippedPorts = [];
    for (const r of select(set, 'block', 'port')) {
      const approvedThere = allowEps.filter((a) => a.subject.portN === r.subject.portN);
      const row = { port: r.subject.port, comment: r.comment, nameOut: word(`ShadowTap-port-${r.subject.port.value}-Out`), nameIn: word(`ShadowTap-port-${r.subject.port.value}-In`) };
      if (approvedThere.length) skippedPorts.push({ ...row, approved: approvedThere.map((a) => a.subject.ip) });
      else ports.push(row);
    }
    const names = mergeScopes(select(set, 'block', 'name')).map((r) => ({ name: r.subject.name, comment: r.comment }));
    return renderTemplate(this.meta.id, { ...headerView(set, this.meta), endpoints, ports, skippedPorts, names }, options);
  },
};
