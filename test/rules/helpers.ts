// Shared test helpers for the rule renderer: the hand-made fixture, a seeded shuffle, and a way to run
// an offline validator binary when it is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
