// The built CLI where the optional native module `cap` is missing (its build failed at install): `capture`
// says what to install in one line and exits 2; everything else still works.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHADOWTAP = process.env.SHADOWTAP_BIN ?? join(ROOT, 'bin', 'shadowtap.js');
const NO_CAP = fileURLToPath(new URL('./no-cap.cjs', import.meta.url));
const FIXTURE = join(ROOT, 'fixtures', 'pcap', 'sdk-streamable-sse-stateful.pcapng');
const built = existsSync(join(ROOT, 'dist', 'cli', 'main.js')) || process.env.SHADOWTAP_BIN !== undefined;
if (!built) console.warn('test/capture/cli.test.ts skipped: dist/ not built (npm run build)');

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['-r', NO_CAP, SHADOWTAP, ...args], { encoding: 'utf8', timeout: 60_000 });

describe.skipIf(!built)('shadowtap without cap', () => {
  it.each([[['capture', '-i', 'lo']], [['capture', '--list']]])('%j: one line naming what to install, exit 2', (args) => {
    const r = run(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^shadowtap: live capture needs the optional native module "cap"/);
    expect(lines[0]).toContain('apt-get install -y libpcap-dev python3 make g++ && npm rebuild cap');
    expect(lines[0]).toContain('simulated');
  });

  it('scan of a capture file still works', () => {
    const r = run('scan', FIXTURE, '--format', 'ndjson', '--fail-on', 'none');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('"type":"shadowtap.finding"');
  });
});
