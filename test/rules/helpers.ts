// Shared test helpers for the rule renderer: the hand-made fixture, a seeded shuffle, and a way to run
// an offline validator binary when it is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';

export const FIXTURE = join(import.meta.dirname, '..', 'fixtures-rules', 'findings.json');

export function loadFindings(): Array<Record<string, unknown>> {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')).findings;
}

/** Every hostile value in the fixture carries a `zzinj<N>` marker; none may reach any output. */
export const INJECTION_MARKER = /zzinj\d+/i;

export function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function have(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).status === 0;
}

export function run(cmd: string, args: string[], opts: { cwd?: string } = {}): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, timeout: 60_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The offline validator binary of each target that has one. */
const VALIDATOR_BIN: Readonly<Record<string, string>> = {
  nftables: 'nft', iptables: 'iptables-restore', ip6tables: 'ip6tables-restore', rpz: 'named-checkzone',
  unbound: 'unbound-checkconf', dnsmasq: 'dnsmasq', squid: 'squid', suricata: 'suricata',
};

/** A test that runs target `id`'s validator, or skips visibly when its binary is not installed. */
export function validatorTest(id: string, name: string, fn: () => void): void {
  const bin = VALIDATOR_BIN[id]!;
  if (have(bin)) it(name, fn);
  else it.skip(`${name} (skipped: ${bin} not installed; .ci/run installs it)`, fn);
}

/** Runs target `id`'s real offline validator on its rendered `file` (helper files go beside it). */
function checkTarget(id: string, file: string): { status: number | null; out: string } {
  switch (id) {
    case 'nftables':
      // nft -c needs CAP_NET_ADMIN: run directly as root, else inside a user+net namespace.
      return process.getuid?.() === 0 ? run('nft', ['-c', '-f', file]) : run('unshare', ['-rn', 'nft', '-c', '-f', file]);
    case 'iptables':
    case 'ip6tables':
      return run(VALIDATOR_BIN[id]!, ['--test', file]);
    case 'rpz':
      return run('named-checkzone', ['rpz.shadowtap', file]);
    case 'unbound':
      return run('unbound-checkconf', [file]);
    case 'dnsmasq':
      return run('dnsmasq', ['--test', `--conf-file=${file}`]);
    case 'squid': {
      const main = join(dirname(file), 'squid.conf');
      writeFileSync(main, `http_port 127.0.0.1:3128\ninclude ${file}\nhttp_access deny all\n`);
      return run('squid', ['-k', 'parse', '-f', main]);
    }
    case 'suricata': {
      const yaml = join(dirname(file), 'suricata-min.yaml');
      writeFileSync(yaml, MIN_SURICATA_YAML);
      return run('suricata', ['-T', '-c', yaml, '-S', file, '-l', tempDir('suricata-log')]);
    }
  }
  throw new Error(`no offline validator for ${id}`);
}

/** Asserts that target `id`'s validator accepts `file` with the success text it prints; `serial` is the RPZ zone's. */
export function expectValid(id: string, file: string, serial: number): void {
  const r = checkTarget(id, file);
  expect(r.status, r.out).toBe(0);
  switch (id) {
    case 'nftables':
      expect(r.out).toBe('');
      break;
    case 'rpz':
      expect(r.out).toContain(`loaded serial ${serial}`);
      break;
    case 'unbound':
      expect(r.out).toContain('no errors');
      break;
    case 'dnsmasq':
      expect(r.out).toContain('syntax check OK');
      break;
    case 'squid':
      expect(r.out).not.toMatch(/WARNING|ERROR|FATAL|Bungled/);
      break;
    case 'suricata': {
      const rules = readFileSync(file, 'utf8').split('\n').filter((l) => /^(alert|pass|drop|reject)\s/.test(l)).length;
      expect(r.out).toContain(`${rules} rules successfully loaded, 0 rules failed`);
      break;
    }
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `shadowtap-${prefix}-`));
}

/** Many distinct findings, to push Cloudflare values from inline sets into Gateway lists. */
export function manyFindings(n: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    out.push({
      id: (0x10000000 + i).toString(16).padStart(16, '0'),
      subject: { ip: `10.${(i >> 8) & 255}.${i & 255}.7`, port: 8080, names: [`mcp${i}.bulk.example.com`] },
      transport: 'streamable-http',
      paths: ['/mcp'],
      confidence: 'high',
      approved: false,
      lastSeen: 1764057600 + i,
      signals: [],
    });
  }
  return out;
}

const MIN_SURICATA_YAML = `%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[10.0.0.0/8,172.16.0.0/12,192.168.0.0/16]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups:
    HTTP_PORTS: "80"
classification-file: /etc/suricata/classification.config
reference-config-file: /etc/suricata/reference.config
app-layer:
  protocols:
    tls:
      enabled: yes
      detection-ports:
        dp: 443
    http:
      enabled: yes
    dns:
      tcp:
        enabled: yes
        detection-ports:
          dp: 53
      udp:
        enabled: yes
        detection-ports:
          dp: 53
`;
