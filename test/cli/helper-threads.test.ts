// lowerHelperThreadPriority: V8's helper threads at the lowest priority, the main thread and threads started
// later untouched. Read back from /proc in a fresh node (the kernel's word, not ours).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const MODULE = join(ROOT, 'dist', 'cli', 'helper-threads.js');

/** Each thread's nice value, by thread id. */
function niceOf(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    out.set(Number(t), Number(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
  }
  return out;
}

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

  it('the CLI lowers them before node starts its thread pool: the pool threads that read captures keep priority', async () => {
    // A FIFO is read through the thread pool (the stream path), and blocks the CLI while nothing is written to it.
    const dir = mkdtempSync(join(tmpdir(), 'st-fifo-'));
    const fifo = join(dir, 'capture.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowtap.js'), 'decode', fifo, '--quiet'], { stdio: 'ignore' });
    const writer = openSync(fifo, 'w'); // opens once the CLI has opened its end
    try {
      let nice = niceOf(child.pid!);
      for (let i = 0; i < 100 && nice.size < 11; i++) {
        await new Promise((r) => setTimeout(r, 20)); // the pool starts with the CLI's first read
        nice = niceOf(child.pid!);
      }
      const values = [...nice.values()];
      expect(nice.get(child.pid!)).toBe(0);
      expect(values.filter((n) => n === 19).length).toBeGreaterThanOrEqual(4); // V8's helpers
      expect(values.filter((n) => n === 0).length).toBeGreaterThanOrEqual(1 + 4); // main, and the pool's 4
    } finally {
      writeSync(writer, Buffer.alloc(0));
      closeSync(writer);
      await new Promise((r) => child.once('close', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
