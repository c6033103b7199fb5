import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DlpConfigError, DlpScanner, luhnValid, mask, type ScanTarget } from '../../src/audit/dlp.js';
import type { DlpHit } from '../../src/audit/types.js';

const target: ScanTarget = {
  server: '10.0.0.1:3000',
  client: '10.0.0.2',
  where: { frame: 7, ts: 1, flow: '10.0.0.2:5000->10.0.0.1:3000', part: 'request', method: 'tools/call', id: 1 },
};
const scan = (value: unknown, s = new DlpScanner()) => s.scan([{ root: 'params', value }], target);
const ids = (hits: DlpHit[]) => hits.map((h) => h.detector).sort();

// Fake values in the vendors' formats, assembled at run time.
const fill = (n: number, seed = 'Fake0Token1Value2Abc3') => seed.repeat(10).slice(0, n);
const SECRETS: Array<[string, string]> = [
  ['secret.aws_access_key_id', 'AKIAIOSFODNN7EXAMPLE'],
  ['secret.github_token', `ghp_${fill(36)}`],
  ['secret.github_token', `github_pat_${fill(22)}_${fill(59)}`],
  ['secret.slack_token', `xoxb-123456789012-1234567890123-${fill(24)}`],
  ['secret.slack_webhook', `https://hooks.slack.com/services/T0000FAKE/B0000FAKE/${fill(24)}`],
  ['secret.google_api_key', `AIza${fill(35)}`],
  ['secret.google_oauth_token', `ya29.${fill(60)}`],
  ['secret.stripe_key', `sk_live_${fill(24)}`],
  ['secret.stripe_key', `rk_test_${fill(30)}`],
  ['secret.openai_style_key', `sk-proj-${fill(48)}`],
  ['secret.openai_style_key', `sk-${fill(48)}`],
  ['secret.jwt', `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.${fill(20)}`],
  ['secret.private_key', `-----BEGIN RSA PRIVATE KEY-----\n${'QUJD'.repeat(40)}\n-----END RSA PRIVATE KEY-----`],
  ['secret.private_key', `-----BEGIN OPENSSH PRIVATE KEY-----\n${'QUJD'.repeat(40)}\n-----END OPENSSH PRIVATE KEY-----`],
  ['pci.card_number', '4111111111111111'],
  ['pci.card_number', '4111 1111 1111 1111'],
  ['pci.card_number', '5555-5555-5555-4444'],
  ['pci.card_number', '378282246310005'],
  ['pci.card_number', '6011111111111117'],
];

describe('mask and Luhn', () => {
  it('keeps the first 4 characters and the length, never the rest', () => {
    expect(mask('ghp_abcdefghijklmnopqrstuvwxyz0123456789')).toBe('ghp_…(40)');
    expect(mask('short-one')).toBe('…(9)');
  });
  it('checks the Luhn sum', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('12a4')).toBe(false);
  });
});

describe('secret, card detectors: true positives', () => {
  for (const [id, value] of SECRETS) {
    it(`${id}: ${value.slice(0, 12)}…`, () => {
      const hits = scan({ arguments: { note: `value: ${value} (end)` } });
      expect(hits.map((h) => h.detector)).toContain(id);
      const hit = hits.find((h) => h.detector === id)!;
      expect(hit.where.path).toBe('$.params.arguments.note');
      expect(hit.masked).not.toContain(value);
      expect(hit.masked).toMatch(/…\(\d+\)$/);
      expect(JSON.stringify(hit)).not.toContain(value.slice(8));
    });
  }
  it('AWS secret access key only next to its name, in text or as a keyed JSON value', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(ids(scan({ text: `aws_secret_access_key = ${secret}` }))).toEqual(['secret.aws_secret_access_key']);
    expect(ids(scan({ text: `some value ${secret}` }))).toEqual([]);
  });
  it('credential-named fields with a token-like value', () => {
    expect(ids(scan({ api_key: 'Zx8kP2mQ9vL4nR7t' }))).toEqual(['secret.keyed_value']);
    expect(ids(scan({ password: 'not a token' }))).toEqual([]);
    expect(ids(scan({ progressToken: 'Zx8kP2mQ9vL4nR7t' }))).toEqual([]);
  });
  it('finds integers that are card numbers', () => {
    expect(ids(scan({ n: 4111111111111111 }))).toEqual(['pci.card_number']);
  });
});

describe('look-alikes raise nothing', () => {
  const negatives: Array<[string, string]> = [
    ['random hex', 'a3f9c2e1b4d5a6f7089e1d2c3b4a59689f86d081884c7d659a2feaa0c55ad015'],
    ['sha1', '3f786850e387550fdab836ed7e6dc881de23001b'],
    ['UUID', '123e4567-e89b-12d3-a456-426614174000'],
    ['UUID list', '550e8400-e29b-41d4-a716-446655440000 6ba7b810-9dad-11d1-80b4-00c04fd430c8'],
    ['non-Luhn 16 digits', '1234567812345679'],
    ['non-Luhn card layout', '4111 1111 1111 1112'],
    ['Luhn but all zeros', '0000000000000000'],
    ['Luhn-valid digits outside card ranges', '1234567812345670'],
    ['timestamp and version', '1795599757.857913 v1.32.2 2026-11-25'],
    ['hyphenated sk- words', 'sk-this-is-a-very-long-hyphenated-identifier-name'],
    ['AKIA inside a longer word', 'XAKIAIOSFODNN7EXAMPLE1'],
    ['base64 blob', Buffer.from('hello world, this is a normal payload of text '.repeat(3)).toString('base64')],
    ['non-JWT dotted', 'eyJzomething.eyJnotjson1234.abcdefghijk'],
    ['IP addresses', '10.98.1.10 192.168.100.200 2001:db8::1'],
    ['lowercase marker word', 'this is confidential between us'],
    ['one email', 'write to support@example.com'],
  ];
  for (const [name, text] of negatives) {
    it(name, () => {
      expect(ids(scan({ text }, new DlpScanner({ markers: ['CONFIDENTIAL'] })))).toEqual([]);
    });
  }
  it('random hex and UUIDs (property)', () => {
    fc.assert(fc.property(fc.uuid(), fc.stringMatching(/^[0-9a-f]{8,64}$/), (u, h) => {
      expect(ids(scan({ text: `${u} ${h}`, id: u }))).toEqual([]);
    }), { numRuns: 300 });
  });
  it('non-Luhn digit runs (property)', () => {
    fc.assert(fc.property(fc.stringMatching(/^4[0-9]{15}$/), (d) => {
      const hits = ids(scan({ text: d }));
      expect(hits.includes('pci.card_number')).toBe(luhnValid(d));
    }), { numRuns: 300 });
  });
});

describe('bulk PII, markers, user patterns, allow, disable', () => {
  it('emails only in bulk, at their common path, counted', () => {
    const to = Array.from({ length: 12 }, (_, i) => `person${i}@example.org`);
    const hits = scan({ arguments: { to, body: 'hi' } });
    expect(ids(hits)).toEqual(['pii.email_bulk']);
    expect(hits[0].count).toBe(12);
    expect(hits[0].where.path).toBe('$.params.arguments.to');
    expect(hits[0].masked).toBe('pers…(19)');
    expect(ids(scan({ arguments: { to: to.slice(0, 9) } }))).toEqual([]);
    expect(ids(scan({ arguments: { to: to.slice(0, 3) } }, new DlpScanner({ bulkEmails: 3 })))).toEqual(['pii.email_bulk']);
  });
  it('phone numbers in bulk, not card digit groups', () => {
    const phones = Array.from({ length: 10 }, (_, i) => `+1 555-010-${String(i).padStart(4, '0')}`).join(', ');
    const hits = scan({ text: `${phones}; card 4111 1111 1111 1111` });
    expect(ids(hits)).toEqual(['pci.card_number', 'pii.phone_bulk']);
    expect(hits.find((h) => h.detector === 'pii.phone_bulk')!.count).toBe(10);
  });
  it('markers are case-sensitive whole words and shown as configured', () => {
    const s = new DlpScanner({ markers: ['CONFIDENTIAL', 'INTERNAL ONLY'] });
    const hits = scan({ a: 'CONFIDENTIAL: plan', b: ['x', 'INTERNAL ONLY'], c: 'NONCONFIDENTIALITY' }, s);
    expect(hits.map((h) => [h.detector, h.masked, h.where.path])).toEqual([
      ['marker', 'CONFIDENTIAL', '$.params.a'],
      ['marker', 'INTERNAL ONLY', '$.params.b[1]'],
    ]);
  });
  it('user patterns are masked unless reveal, with their severity', () => {
    const s = new DlpScanner({ patterns: [
      { id: 'employee', regex: 'EMP-\\d{6}', severity: 'high' },
      { id: 'project', regex: 'project (falcon|eagle)', flags: 'i', reveal: true },
    ] });
    const hits = scan({ q: 'EMP-123456 works on Project Falcon' }, s);
    expect(hits.map((h) => [h.detector, h.masked, h.severity])).toEqual([
      ['custom.employee', '…(10)', 'high'],
      ['custom.project', 'Project Falcon', 'medium'],
    ]);
  });
  it('bad user patterns are a config error', () => {
    expect(() => new DlpScanner({ patterns: [{ id: 'x', regex: '(' }] })).toThrow(DlpConfigError);
    expect(() => new DlpScanner({ patterns: [{ id: 'x', regex: 'a*' }] })).toThrow(/empty string/);
  });
  it('allow-listed values and disabled detectors are not reported', () => {
    expect(ids(scan({ k: 'AKIAIOSFODNN7EXAMPLE' }, new DlpScanner({ allow: ['AKIAIOSFODNN7EXAMPLE'] })))).toEqual([]);
    expect(ids(scan({ k: 'AKIAIOSFODNN7EXAMPLE' }, new DlpScanner({ disable: ['secret.aws_access_key_id'] })))).toEqual([]);
    expect(ids(scan({ k: 'AKIAIOSFODNN7EXAMPLE' }, new DlpScanner({ enabled: false })))).toEqual([]);
  });
  it('JSONPath quotes keys that are not identifiers', () => {
    const hits = scan({ 'x-api key': { list: [{ 'a.b': 'AKIAIOSFODNN7EXAMPLE' }] } });
    expect(hits[0].where.path).toBe('$.params["x-api key"].list[0]["a.b"]');
  });
  it('deep nesting does not overflow the stack', () => {
    let v: unknown = 'AKIAIOSFODNN7EXAMPLE';
    for (let i = 0; i < 20_000; i++) v = [v];
    expect(ids(scan(v))).toEqual(['secret.aws_access_key_id']);
  });
  it('stops at the character cap and says so', () => {
    const s = new DlpScanner({}, 100);
    expect(ids(s.scan([{ root: 'params', value: ['x'.repeat(90), 'AKIAIOSFODNN7EXAMPLE'] }], target))).toEqual([]);
    expect(s.lastCapped).toBe(true);
  });
});

describe('redact', () => {
  it('masks every secret in display text, PII only when asked', () => {
    const s = new DlpScanner();
    const text = JSON.stringify({ key: `ghp_${fill(36)}`, card: '4111 1111 1111 1111', to: 'a.person@example.org' });
    const red = s.redact(text);
    expect(red).not.toContain(fill(36));
    expect(red).toContain('ghp_…(40)');
    expect(red).toContain('4111…(19)');
    expect(red).toContain('a.person@example.org');
    expect(s.redact(text, true)).not.toContain('a.person@example.org');
  });
  it('never throws and never returns a detected secret (property)', () => {
    const s = new DlpScanner();
    fc.assert(fc.property(fc.string(), fc.constantFrom(...SECRETS.map((x) => x[1])), fc.string(), (a, secret, b) => {
      const text = `${a} ${secret} ${b}`;
      const hits = s.scan([{ root: 'params', value: text }], target);
      const red = s.redact(text);
      for (const h of hits) expect(h.masked.length).toBeLessThan(secret.length);
      expect(red.includes(secret)).toBe(false);
    }), { numRuns: 200 });
  });
});
