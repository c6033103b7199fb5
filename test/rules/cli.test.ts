import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRules } from '../../src/cli/commands/rules.js';
import type { CliIO } from '../../src/cli/io.js';
import { TARGETS } from '../../src/rules/index.js';
import { FIXTURE, INJECTION_MARKER, loadFindings, tempDir } from './helpers.js';

function io() {
  const o = { out: '', err: '' };
  const cli: CliIO = { stdout: (t) => void (o.out += t), stderr: (t) => void (o.err += t), isTTY: false, color: false };
  return { o, cli };
}

describe('runRules', () => {
  it('renders one target to stdout from --from, and lists refused values on stderr, escaped', async () => {
    const { o, cli } = io();
    const code = await runRules({ from: FIXTURE, target: ['dnsmasq'], minConfidence: 'low', block: ['all'] }, cli);
    expect(code).toBe(0);
    expect(o.out).toContain('address=/registry.modelcontextprotocol.io/');
    expect(o.out).not.toMatch(INJECTION_MARKER);
    expect(o.err).toMatch(/value\(s\) refused/);
    expect(o.err).toContain('finding deadbeefdeadbeef name "zzinj3.example.com\\nrm -rf /": control character or space in host name');
    expect(o.err).toMatch(/^[\x20-\x7e\n]*$/); // no raw control or bidi characters reach the terminal
  });

  it('--target all writes one file per target into --out', async () => {
    const { o, cli } = io();
    const dir = tempDir('cli-out');
    const code = await runRules({ from: FIXTURE, target: ['all'], out: dir }, cli);
    expect(code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(TARGETS.map((t) => t.meta.fileName).sort());
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f), 'utf8')).not.toMatch(INJECTION_MARKER);
    expect(o.out).toBe('');
  });

  it('accepts comma lists and findings passed in directly; the min confidence filters blocks', async () => {
    const findings = loadFindings() as never[];
    const low = io();
    await runRules({ findings, target: ['hosts,nftables'], out: tempDir('cli-a'), minConfidence: 'low', block: ['all'] }, low.cli);
    const high = io();
    const dir = tempDir('cli-b');
    await runRules({ findings, target: ['nftables'], out: dir, minConfidence: 'high', block: ['all'] }, high.cli);
    const nft = readFileSync(join(dir, 'shadowtap.nft'), 'utf8');
    expect(nft).toContain('10.20.0.15 . 8080'); // high
    expect(nft).not.toContain('10.20.0.33 . 3000'); // medium
    expect(high.o.err).toMatch(/below the minimum confidence/);
  });

  it('--list-targets prints every target id and its file', async () => {
    const { o, cli } = io();
    expect(await runRules({ target: [], list: true }, cli)).toBe(0);
    for (const t of TARGETS) expect(o.out).toContain(t.meta.fileName);
    expect(o.out.trim().split('\n')).toHaveLength(TARGETS.length);
  });

  it('usage errors exit 2 with one clear line', async () => {
    for (const opts of [
      { from: FIXTURE, target: ['nosuch'] },
      { from: FIXTURE, target: ['hosts', 'rpz'] },
      { from: '/nonexistent/report.json', target: ['hosts'] },
      { target: ['hosts'] },
      { from: FIXTURE, target: ['hosts'], block: ['everything' as never] },
    ]) {
      const { o, cli } = io();
      expect(await runRules(opts, cli)).toBe(2);
      expect(o.err).toMatch(/^shadowtap rules: .+\n$/);
    }
  });

  it('a target that fails to render writes nothing and exits 2; the others are still written', async () => {
    const tpl = tempDir('cli-tpl');
    writeFileSync(join(tpl, 'hosts.hbs'), '{{q "not validated"}}\n');
    const dir = tempDir('cli-fail');
    const { o, cli } = io();
    const code = await runRules({ from: FIXTURE, target: ['hosts,rpz'], out: dir, templates: tpl }, cli);
    expect(code).toBe(2);
    expect(existsSync(join(dir, 'shadowtap.hosts'))).toBe(false);
    expect(existsSync(join(dir, 'rpz.shadowtap.zone'))).toBe(true);
    expect(o.err).toContain('hosts: not rendered');
  });
});
