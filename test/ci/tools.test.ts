// Several suites skip, with a visible reason, when a validator or peer program is missing on a developer's
// machine. In CI (CI=true, as .ci/run is run) nothing may be missing: this suite fails instead, so a broken
// scripts/setup.sh cannot turn real tests into silent skips.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const PROGRAMS = [
  'tshark', 'tcpdump', 'nft', 'iptables-restore', 'ip6tables-restore', 'named-checkzone', 'unbound-checkconf',
  'dnsmasq', 'squid', 'suricata', 'unshare', 'ip', 'python3', 'ndpiReader',
];

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe.runIf(process.env.CI === 'true')('CI has every tool the suites use', () => {
  for (const p of PROGRAMS) it(`has ${p}`, () => expect(have(p)).toBe(true));

  it('has Debian chromium for the HTML report test', () => expect(existsSync('/usr/bin/chromium')).toBe(true));

  it('built the libpcap binding (cap) for the live-capture test', () => {
    const require = createRequire(join(ROOT, 'package.json'));
    expect(() => require('cap')).not.toThrow();
  });

  it('installed the fixture programs (MCP SDK) for the live-capture test', () => {
    expect(existsSync(join(ROOT, 'fixtures', 'make', 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))).toBe(true);
  });

  it('runs as root, as the namespace and validator tests need', () => expect(process.getuid?.()).toBe(0));
});
