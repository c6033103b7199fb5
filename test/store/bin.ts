// The built CLI as a scheduler runs it (bin/shadowtap.js runs dist/bundle: `npm run build` first; npm test does it):
// run to the end, or start and SIGKILL it on a line of its stderr.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'shadowtap.js');

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'store', 'import.js'))) throw new Error('build first: npm run build (npm test does)');
}

export function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Child { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Start the CLI; `killWhen(stderrSoFar)` true → SIGKILL. */
export function start(args: string[], env: Record<string, string> = {}, killWhen?: (stderr: string) => boolean, killAfterMs?: number): Promise<Child> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    const bound = setTimeout(() => p.kill('SIGKILL'), 60_000);
    if (killAfterMs !== undefined) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => {
      stderr += d;
      if (killWhen?.(stderr)) p.kill('SIGKILL');
    });
    p.on('close', (code, signal) => { clearTimeout(bound); resolve({ code, signal, stdout, stderr }); });
  });
}

export function integrity(db: string): string {
  const d = new Database(db, { readonly: true });
  try {
    return d.pragma('integrity_check', { simple: true }) as string;
  } finally {
    d.close();
  }
}
