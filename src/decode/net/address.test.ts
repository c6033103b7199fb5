import { describe, expect, it } from 'vitest';
import { formatIp } from './address.js';

describe('formatIp', () => {
  it('formats IPv4', () => expect(formatIp(Uint8Array.of(192, 168, 0, 1))).toBe('192.168.0.1'));
  it('compresses the longest zero run (RFC 5952)', () => {
    const b = new Uint8Array(16);
    b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = 1;
    expect(formatIp(b)).toBe('2001:db8::1');
  });
  it('leaves a single zero group uncompressed', () => {
    const b = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(formatIp(b)).toBe('2001:db8:0:1:1:1:1:1');
  });
  it('formats loopback and unspecified', () => {
    const lo = new Uint8Array(16); lo[15] = 1;
    expect(formatIp(lo)).toBe('::1');
    expect(formatIp(new Uint8Array(16))).toBe('::');
  });
  it('formats IPv4-mapped addresses', () => {
    const b = new Uint8Array(16); b[10] = 0xff; b[11] = 0xff; b[12] = 10; b[15] = 7;
    expect(formatIp(b)).toBe('::ffff:10.0.0.7');
  });
});
