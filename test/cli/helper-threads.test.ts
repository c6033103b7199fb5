// lowerHelperThreadPriority: V8's helper threads at the lowest priority, the main thread and threads started
// later untouched. Read back from /proc in a fresh node (the kernel's word, not ours).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MODULE = join(__dirname, '..', '..', 'dist', 'cli', 'helper-threads.js');

describe.runIf(existsSync('/proc/self/task'))('lowerHelperThreadPriority', () => {
  it('lowers every thread but the main one to nice 19; a thread started afterwards keeps the main thread\'s', () => {
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { Worker } from 'node:worker_threads';
      import { lowerHelperThreadPriority } from ${JSON.stringify(MODULE)};
      const nice = () => Object.fromEntries(readdirSync('/proc/self/task').map((t) =>
        [t, Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16])]));
      const before = nice();
      const lowered = lowerHelperThreadPriority();
      const after = nice();
      const w = new Worker('setTimeout(() => {}, 200)', { eval: true });
      await new Promise((r) => w.once('online', r));
      const later = Object.entries(nice()).filter(([t]) => !(t in after)).map(([, n]) => n);
      await w.terminate();
      process.stdout.write(JSON.stringify({ pid: String(process.pid), before, lowered, after, later }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const { pid, before, lowered, after, later } = JSON.parse(r.stdout);
    expect(Object.values(before).every((n) => n === 0)).toBe(true);
    expect(lowered).toBe(Object.keys(after).length - 1);
    expect(lowered).toBeGreaterThanOrEqual(4); // node's V8 platform workers at least
    for (const [tid, n] of Object.entries(after)) expect([tid, n]).toEqual([tid, tid === pid ? 0 : 19]);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((n: number) => n === 0)).toBe(true);
  });
});
