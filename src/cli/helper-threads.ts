// The CLI's one process-wide scheduling choice. Node starts V8's helper threads (4 compiler/GC workers and a timer
// thread) whatever the number of cores. On a machine with fewer cores than threads they take turns with the main
// thread, where all of shadowtap's work runs: on the 2-core bench machine `decode` of 1 GB was 4–6% slower than
// with `node --v8-pool-size=1`, `scan` 5%. Run at the lowest priority, the helpers still get every idle core
// (no change where there are cores to spare) but no longer take the main thread's. Linux only (/proc/self/task);
// elsewhere, or where the kernel refuses, nothing changes.
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

const LOWEST = 19;

/**
 * Lower every thread of this process but the main one to the lowest priority; returns how many were lowered.
 * Call it first thing: threads started later (libuv's thread pool, which reads captures ahead) inherit the main
 * thread's priority, as they should.
 */
export function lowerHelperThreadPriority(): number {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0; // not Linux
  }
  let lowered = 0;
  for (const task of tasks) {
    const tid = Number(task);
    if (!Number.isInteger(tid) || tid === process.pid) continue;
    try {
      setPriority(tid, LOWEST); // on Linux a thread id names that thread alone
      lowered++;
    } catch {
      // gone meanwhile, or not allowed here: it keeps its priority
    }
  }
  return lowered;
}
