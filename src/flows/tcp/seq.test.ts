import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt } from './seq.js';

describe('seq arithmetic', () => {
  it('compares across the 2^32 wrap', () => {
    expect(seqDiff(5, 0xfffffffb)).toBe(10);
    expect(seqDiff(0xfffffffb, 5)).toBe(-10);
    expect(seqLt(0xffffffff, 0)).toBe(true);
    expect(seqGt(0, 0xffffffff)).toBe(true);
    expect(seqLeq(7, 7)).toBe(true);
    expect(seqGeq(7, 8)).toBe(false);
    expect(seqAdd(0xfffffffe, 3)).toBe(1);
  });

  it('seqDiff(seqAdd(a, n), a) === n for |n| < 2^31', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (a, n) => {
        const b = seqAdd(a, n);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThanOrEqual(0xffffffff);
        expect(seqDiff(b, a)).toBe(n);
        expect(seqLt(a, b)).toBe(n > 0);
      }),
    );
  });
});
