import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaselineFile, BehaviourMonitor, type KnownServers } from '../../src/audit/behaviour.js';
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
