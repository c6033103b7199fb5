import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateCidr, validateDomain, validateFindingId, validateIp, validatePath, validatePort } from '../../src/rules/validate.js';

const STRICT_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

describe('validateDomain', () => {
  it.each([
    ['MCP.Example.COM', 'mcp.example.com'],
    ['mcp.example.com.', 'mcp.example.com'],
    ['bücher.example.de', 'xn--bcher-kva.example.de'],
    ['xn--bcher-kva.ch', 'xn--bcher-kva.ch'],
    ['a-b.c-d.example.io', 'a-b.c-d.example.io'],
  ])('accepts %j as %j', (raw, want) => {
    const r = validateDomain(raw);
    expect(r.ok && r.name.value).toBe(want);
  });

  it.each([
    'evil.com"', 'a;b.example.com', '${x}.example.com', '%{x}.example.com', '`id`.example.com', 'a{b}.example.com',
    "o'neil.example.com", 'x.example.com\n', 'x .example.com', '-x.example.com', 'x-.example.com', 'a_b.example.com',
    'localhost', 'com', 'co.uk', 'com.au', '127.0.0.1', '0x7f.1', '::1', 'x.example.123', '', 'a..b.com',
    `${'a'.repeat(64)}.com`, `${'abcdefgh.'.repeat(32)}com`, '*.example.com', 'x.*.example.com', 'x\u202e.example.com',
    'x.example.com/path', 'x.example.com:443', 'user@x.example.com', 'x.example.com\\',
  ])('refuses %j', (raw) => {
    expect(validateDomain(raw).ok).toBe(false);
  });

  it('accepts a leading wildcard only when asked, and says so', () => {
    expect(validateDomain('*.mcp.example.com').ok).toBe(false);
    const r = validateDomain('*.mcp.example.com', { allowWildcard: true });
    expect(r.ok && r.wildcard && r.name.value).toBe('mcp.example.com');
  });

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 42, {}, ['a.com']]) expect(validateDomain(v).ok).toBe(false);
  });

  it('never throws, and whatever it accepts is a strict lower-case LDH name', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.domain()), (raw) => {
        const r = validateDomain(raw);
        if (r.ok) expect(r.name.value).toMatch(STRICT_NAME);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('validateIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1', 4],
    ['2001:DB8:0:0::1', '2001:db8::1', 6],
    ['::ffff:10.1.2.3', '10.1.2.3', 4],
    ['::1', '::1', 6],
  ])('canonicalises %j to %j', (raw, want, fam) => {
    const r = validateIp(raw);
    expect(r.ok && [r.ip.value, r.family]).toEqual([want, fam]);
  });
  it.each(['01.2.3.4', '1.2.3', '1.2.3.4; reboot', 'fe80::1%eth0', '0.0.0.0', '::', '224.0.0.1', 'ff02::1', '255.255.255.255', '1.2.3.4/32', ''])(
    'refuses %j',
    (raw) => expect(validateIp(raw).ok).toBe(false),
  );
});

describe('validateCidr', () => {
  it('accepts a network and canonicalises it', () => {
    const r = validateCidr('2001:DB8::/32');
    expect(r.ok && r.cidr.value).toBe('2001:db8::/32');
    const v4 = validateCidr('10.0.0.0/8');
    expect(v4.ok && v4.prefix).toBe(8);
  });
  it.each(['10.0.0.1/8', '0.0.0.0/0', '10.0.0.0/33', '10.0.0.0', '10.0.0.0/8/8', '::/0', '2001:db8::/8'])('refuses %j', (raw) => {
    expect(validateCidr(raw).ok).toBe(false);
  });
});

describe('validatePort, validatePath, validateFindingId', () => {
  it('ports are integers 1-65535', () => {
    expect([1, 6274, 65535, '8080'].map((p) => validatePort(p).ok)).toEqual([true, true, true, true]);
    expect([0, 65536, -1, 1.5, '80; x', '0x50', NaN, null].map((p) => validatePort(p).ok)).toEqual(Array(8).fill(false));
  });
  it('paths drop the query and keep a strict charset', () => {
    const r = validatePath('/messages?sessionId=abc');
    expect(r.ok && r.path.value).toBe('/messages');
    for (const bad of ['mcp', '/mcp"', '/a b', '/x$(id)', '/x;y', '/%2e%2e', `/${'a'.repeat(300)}`]) expect(validatePath(bad).ok).toBe(false);
  });
  it('finding ids are hex', () => {
    expect(validateFindingId('ABCdef0123').ok).toBe(true);
    for (const bad of ['xyz1', 'abc', 'dead beef', 'dead;beef', 1234]) expect(validateFindingId(bad).ok).toBe(false);
  });
});
