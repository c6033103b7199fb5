import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaselineFile, BehaviourMonitor, type CallHistory, type CallKey, type KnownServers } from '../../src/audit/behaviour.js';
import { Anomalies } from '../../src/core/anomalies.js';
import type { AuditRecord } from '../../src/audit/types.js';

let frame = 1;
function rec(ts: number, method: string, target?: string, o: Partial<AuditRecord> & { serverPort?: number; clientIp?: string } = {}): AuditRecord {
  return {
    ts, frame: frame++, from: 'client', type: 'request', client: { ip: o.clientIp ?? '10.0.0.2', port: 40000 },
    server: { ip: '10.0.0.1', port: o.serverPort ?? 3000 }, carrier: 'http-request', method, id: frame, target, args: '', argsBytes: 0,
    status: 'ok', resultBytes: o.resultBytes ?? 100, dlp: [],
  };
}

describe('tool call bursts', () => {
  it('alerts one call past the threshold within the window, once per episode', () => {
    const m = new BehaviourMonitor({ toolCallBurst: { windowSeconds: 60, maxCalls: 30 } });
    for (let i = 0; i < 30; i++) m.add(rec(1000 + i, 'tools/call', 'search'));
    expect(m.alerts()).toEqual([]);
    m.add(rec(1030, 'tools/call', 'search'));
    for (let i = 0; i < 10; i++) m.add(rec(1031 + i, 'tools/call', 'search'));
    expect(m.alerts()).toHaveLength(1);
    const a = m.alerts()[0];
    expect(a).toMatchObject({ kind: 'tool_call_burst', client: '10.0.0.2', servers: ['10.0.0.1:3000'], subject: 'search', threshold: 30, windowSeconds: 60 });
    // From t=1040 the window reaches back to 980: all 41 calls are in it.
    expect(a.value).toBe(41);
    expect(a.firstTs).toBe(1030);
    expect(a.lastTs).toBe(1040);
    expect(a.evidence.length).toBeGreaterThan(1);
  });
  it('the same number of calls spread beyond the window raises nothing; other tools count apart', () => {
    const m = new BehaviourMonitor({ toolCallBurst: { windowSeconds: 60, maxCalls: 30 } });
    for (let i = 0; i < 100; i++) m.add(rec(i * 2.5, 'tools/call', 'search')); // 24 per minute
    for (let i = 0; i < 25; i++) { m.add(rec(300 + i, 'tools/call', 'read')); m.add(rec(300 + i, 'tools/call', 'write')); }
    expect(m.alerts()).toEqual([]);
  });
  it('a second burst after a quiet window is a second alert; records out of order still count', () => {
    const m = new BehaviourMonitor({ toolCallBurst: { windowSeconds: 10, maxCalls: 5 } });
    for (const t of [0, 2, 1, 4, 3, 5]) m.add(rec(t, 'tools/call', 'x'));
    expect(m.alerts()).toHaveLength(1);
    for (let i = 0; i < 6; i++) m.add(rec(100 + i, 'tools/call', 'x'));
    expect(m.alerts().map((a) => [a.firstTs, a.value])).toEqual([[5, 6], [105, 6]]);
  });
});

describe('resource enumeration, large results, many servers', () => {
  it('counts distinct resources, not repeated reads', () => {
    const m = new BehaviourMonitor({ resourceEnumeration: { windowSeconds: 60, maxDistinct: 20 } });
    for (let i = 0; i < 50; i++) m.add(rec(i, 'resources/read', 'file:///same'));
    for (let i = 0; i < 19; i++) m.add(rec(50 + i * 0.1, 'resources/read', `file:///d/${i}`)); // 20 distinct with /same
    expect(m.alerts()).toEqual([]);
    m.add(rec(53, 'resources/read', 'file:///d/new'));
    expect(m.alerts().map((a) => [a.kind, a.value, a.subject])).toEqual([['resource_enumeration', 21, 'file:']]);
  });
  it('large results above the byte threshold, merged per tool', () => {
    const m = new BehaviourMonitor({ largeResult: { maxBytes: 1000 } });
    m.add(rec(1, 'tools/call', 'dump', { resultBytes: 1000 }));
    expect(m.alerts()).toEqual([]);
    m.add(rec(2, 'tools/call', 'dump', { resultBytes: 5000 }));
    m.add(rec(3, 'tools/call', 'dump', { resultBytes: 9000 }));
    expect(m.alerts().map((a) => [a.kind, a.value, a.subject, a.evidence.length])).toEqual([['large_result', 9000, 'dump', 2]]);
  });
  it('distinct servers per client within the window', () => {
    const m = new BehaviourMonitor({ manyServers: { windowSeconds: 3600, maxDistinct: 3 } });
    for (const p of [1, 2, 3, 1, 2, 3]) m.add(rec(p, 'tools/list', undefined, { serverPort: 4000 + p }));
    m.add(rec(10, 'tools/list', undefined, { serverPort: 4001, clientIp: '10.0.0.9' }));
    expect(m.alerts()).toEqual([]);
    m.add(rec(20, 'tools/list', undefined, { serverPort: 4004 }));
    expect(m.alerts().map((a) => [a.kind, a.client, a.value, a.servers])).toEqual([
      ['many_servers', '10.0.0.2', 4, ['10.0.0.1:4001', '10.0.0.1:4002', '10.0.0.1:4003', '10.0.0.1:4004']],
    ]);
  });
  it('ignores notifications and server-initiated requests; can be switched off', () => {
    const m = new BehaviourMonitor({ toolCallBurst: { maxCalls: 1 } });
    m.add({ ...rec(1, 'tools/call', 'x'), type: 'notification' });
    m.add({ ...rec(1, 'tools/call', 'x'), from: 'server' });
    expect(m.alerts()).toEqual([]);
    const off = new BehaviourMonitor({ enabled: false, toolCallBurst: { maxCalls: 1 } });
    for (let i = 0; i < 5; i++) off.add(rec(i, 'tools/call', 'x'));
    expect(off.alerts()).toEqual([]);
  });
});

describe('servers first seen today', () => {
  const day = 1_795_564_800; // 2026-11-25T00:00:00Z
  function known(entries: Record<string, number>): KnownServers & { seen: Record<string, number> } {
    const seen = { ...entries };
    return { seen, firstSeen: (s) => seen[s], see: (s, t) => { seen[s] ??= t; } };
  }
  it('alerts for a server never seen or first seen today, not for one seen before', () => {
    const k = known({ '10.0.0.1:3000': day - 86_400 * 3, '10.0.0.1:3001': day + 60 });
    const m = new BehaviourMonitor({}, { known: k });
    m.add(rec(day + 3600, 'initialize', undefined, { serverPort: 3000 }));
    m.add(rec(day + 3600, 'initialize', undefined, { serverPort: 3001 }));
    m.add(rec(day + 3600, 'initialize', undefined, { serverPort: 3002 }));
    m.add(rec(day + 3700, 'tools/list', undefined, { serverPort: 3002 }));
    expect(m.alerts().map((a) => [a.kind, a.servers[0]])).toEqual([['new_server', '10.0.0.1:3001'], ['new_server', '10.0.0.1:3002']]);
    expect(k.seen['10.0.0.1:3002']).toBe(day + 3600);
  });
  it('without a baseline no new-server alert is raised', () => {
    const m = new BehaviourMonitor({});
    m.add(rec(day, 'initialize'));
    expect(m.alerts()).toEqual([]);
  });
  it('baseline file round trip', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowtap-baseline-'));
    const path = join(dir, 'servers.json');
    writeFileSync(path, JSON.stringify({ servers: { '10.0.0.1:3000': 100 } }));
    const b = new BaselineFile(path);
    expect(b.firstSeen('10.0.0.1:3000')).toBe(100);
    b.see('10.0.0.1:3000', 200);
    b.see('10.0.0.5:80', 300);
    b.save();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ servers: { '10.0.0.1:3000': 100, '10.0.0.5:80': 300 } });
  });
});

describe('tool calls far above the client\'s own usual count', () => {
  const cfg = { toolCallUnusual: { windowSeconds: 60, factor: 5, minWindows: 5, minCalls: 10 } };
  /** `n` calls of `tool` spread over the minute window starting at `minute * 60`. */
  function calls(m: BehaviourMonitor, minute: number, n: number, tool = 'search', clientIp = '10.0.0.2'): void {
    for (let i = 0; i < n; i++) m.add(rec(minute * 60 + (i * 59) / n, 'tools/call', tool, { clientIp }));
  }
  const unusual = (m: BehaviourMonitor) => m.alerts().filter((a) => a.kind === 'tool_call_unusual');
  /** An in-memory history, as the inventory keeps it. */
  function history(stored: Record<string, unknown[]> = {}): CallHistory & { stored: Record<string, unknown[]> } {
    const id = (k: CallKey) => `${k.client}|${k.server}|${k.tool}|${k.windowSeconds}`;
    return { stored, windows: (k) => stored[id(k)], learn: (k, w) => { stored[id(k)] = w; } };
  }

  it('a steady client raises nothing', () => {
    const m = new BehaviourMonitor(cfg);
    for (let t = 0; t < 30; t++) calls(m, t, 2 + (t % 3)); // 2-4 calls a minute
    expect(m.alerts()).toEqual([]);
  });

  it('the same client calling 10 times its usual raises one alert, which the fixed threshold misses', () => {
    const m = new BehaviourMonitor(cfg);
    for (let t = 0; t < 10; t++) calls(m, t, 3);
    calls(m, 10, 30);
    expect(m.alerts().map((a) => a.kind)).toEqual(['tool_call_unusual']); // 30 is not above toolCallBurst.maxCalls 30
    const a = m.alerts()[0];
    // usual 3 (median of 10 windows) → threshold max(10, 5 × 3) = 15: the 15th call of the window raises it.
    expect(a).toMatchObject({ client: '10.0.0.2', servers: ['10.0.0.1:3000'], subject: 'search', value: 30, threshold: 15, windowSeconds: 60, severity: 'medium' });
    expect(a.firstTs).toBeCloseTo(600 + (14 * 59) / 30);
    expect(a.detail).toBe('10.0.0.2 called tool "search" on 10.0.0.1:3000 up to 30 times in one 60s window; it usually calls it 3 times ' +
      '(median of its 10 earlier busy windows; threshold 15)');
    // 14 calls, one short of the threshold, in a later window: no second alert.
    calls(m, 20, 14);
    expect(unusual(m)).toHaveLength(1);
  });

  it('a client that is always busy raises nothing new; the fixed threshold fires only when it passes maxCalls', () => {
    const busy = new BehaviourMonitor(cfg);
    for (let t = 0; t < 20; t++) calls(busy, t, 50);
    expect(unusual(busy)).toEqual([]);
    expect(busy.alerts().map((a) => a.kind)).toEqual(['tool_call_burst']); // 50 > maxCalls 30: the old rule, as before
    const below = new BehaviourMonitor(cfg);
    for (let t = 0; t < 20; t++) calls(below, t, 25);
    expect(below.alerts()).toEqual([]);
  });

  it('needs minWindows earlier windows and minCalls calls; other clients and tools have their own baselines', () => {
    const young = new BehaviourMonitor(cfg);
    for (let t = 0; t < 4; t++) calls(young, t, 2);
    calls(young, 4, 29);
    expect(young.alerts()).toEqual([]); // only 4 earlier windows
    const quiet = new BehaviourMonitor(cfg);
    for (let t = 0; t < 10; t++) calls(quiet, t, 1);
    calls(quiet, 10, 9);
    expect(quiet.alerts()).toEqual([]); // 9× its usual, but under minCalls
    calls(quiet, 11, 10);
    expect(unusual(quiet).map((a) => [a.value, a.threshold])).toEqual([[10, 10]]);
    const apart = new BehaviourMonitor(cfg);
    for (let t = 0; t < 10; t++) { calls(apart, t, 3, 'search', '10.0.0.3'); calls(apart, t, 3, 'read'); }
    calls(apart, 10, 25, 'search', '10.0.0.2');
    expect(apart.alerts()).toEqual([]); // 10.0.0.2 never called search before; 10.0.0.3's windows are not its
  });

  it('consecutive unusual windows are one alert with the peak; a late call counts in its own window', () => {
    const m = new BehaviourMonitor(cfg);
    for (let t = 0; t < 8; t++) calls(m, t, 2);
    calls(m, 8, 20);
    calls(m, 9, 26);
    expect(unusual(m).map((a) => [a.value, a.firstTs < 540 + 60, a.lastTs >= 540])).toEqual([[26, true, true]]);
    m.add(rec(30, 'tools/call', 'search')); // minute 0, long closed: 3 calls there now, no new alert
    expect(unusual(m)).toHaveLength(1);
  });

  it('learns across runs through the history; bad stored windows are counted, not used', () => {
    const h = history();
    const first = new BehaviourMonitor(cfg, { history: h });
    for (let t = 0; t < 6; t++) calls(first, t, 2);
    expect(first.alerts()).toEqual([]);
    first.finish();
    expect(h.stored['10.0.0.2|10.0.0.1:3000|search|60']).toEqual([[0, 2], [60, 2], [120, 2], [180, 2], [240, 2], [300, 2]]);
    const second = new BehaviourMonitor(cfg, { history: h });
    calls(second, 100, 12);
    expect(unusual(second).map((a) => [a.value, a.threshold])).toEqual([[12, 10]]);
    const alone = new BehaviourMonitor(cfg);
    calls(alone, 100, 12);
    expect(alone.alerts()).toEqual([]);

    const anomalies = new Anomalies();
    const bad = history({ '10.0.0.2|10.0.0.1:3000|search|60': [[0, 2], 'x', [60, -1], [0, 3], [120, 2], [180, 2], [240, 2], [300, 2]] });
    const third = new BehaviourMonitor(cfg, { history: bad, anomalies });
    calls(third, 100, 12);
    expect(anomalies.count('audit.baseline_bad_window')).toBe(3);
    expect(unusual(third)).toHaveLength(1); // the 5 good windows are still a baseline
  });

  it('bounded: keys beyond the cap are dropped and counted, windows per key roll off, long tool names are cut', () => {
    const anomalies = new Anomalies();
    const h = history();
    const m = new BehaviourMonitor(cfg, { history: h, anomalies, limits: { auditBaselineKeys: 2, auditBaselineWindows: 8 } });
    for (let t = 0; t < 20; t++) calls(m, t, 1, 'a');
    calls(m, 0, 1, 'b');
    calls(m, 0, 1, 'a'); // a is now the most recently used
    calls(m, 0, 1, 'c'); // b is dropped
    expect(anomalies.summary().find((x) => x.name === 'audit.baseline_keys_cap_hit')).toMatchObject({ count: 1, examples: [{ frame: expect.any(Number) }] });
    m.finish();
    expect(Object.keys(h.stored).map((k) => k.split('|')[2]).sort()).toEqual(['a', 'c']);
    const a = h.stored['10.0.0.2|10.0.0.1:3000|a|60'] as Array<[number, number]>;
    expect(a.map(([s]) => s / 60)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]); // the newest 8; the late call to minute 0 rolled off

    const long = history();
    const n = new BehaviourMonitor(cfg, { history: long });
    for (let t = 0; t < 6; t++) calls(n, t, 2, 'x'.repeat(500));
    calls(n, 6, 12, 'x'.repeat(500));
    n.finish();
    const tool = `${'x'.repeat(128)}…(500)`;
    expect(Object.keys(long.stored)).toEqual([`10.0.0.2|10.0.0.1:3000|${tool}|60`]);
    expect(unusual(n).map((x) => x.subject)).toEqual([tool]);
  });
});
