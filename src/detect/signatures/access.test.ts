import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getField } from '../fields.js';
import { accessor } from './access.js';

describe('compiled field accessors', () => {
  it('agree with getField, dotted keys included', () => {
    const seg = fc.constantFrom('a', 'b', 'io', 'modelcontextprotocol/x', '_meta', 'name');
    const key = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('.'));
    const json = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.constantFrom(1, 'v', null, true), fc.array(tie('node'), { maxLength: 2 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(json, fc.array(seg, { minLength: 1, maxLength: 4 }), fc.constantFrom('jsonrpc.params', 'jsonrpc.result'), (value, path, root) => {
        const fields = { [root]: value, 'jsonrpc.method': 'x' };
        const name = `${root}.${path.join('.')}`;
        expect(accessor(name)(fields)).toEqual(getField(fields, name));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds the 2026 _meta keys and plain fields', () => {
    const fields = { 'jsonrpc.params': { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } }, 'tls.sni': 'a' };
    expect(accessor('jsonrpc.params._meta.io.modelcontextprotocol/protocolVersion')(fields)).toBe('2026-07-28');
    expect(accessor('tls.sni')(fields)).toBe('a');
    expect(accessor('dns.query.name')(fields)).toBeUndefined();
  });
});
