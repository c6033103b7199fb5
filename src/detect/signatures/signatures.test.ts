import { describe, expect, it } from 'vitest';
import { loadSignatures } from './load.js';
import { testSignatures } from './tester.js';

describe('built-in signature packs', async () => {
  const set = await loadSignatures();
  const results = testSignatures(set);

  it('loads every theme pack', () => {
    const packs = set.packs.map((p) => p.pack).sort();
    expect(packs).toEqual(expect.arrayContaining(['mcp-http', 'mcp-jsonrpc', 'mcp-names', 'mcp-ports', 'mcp-sse']));
    expect(set.signatures.length).toBeGreaterThan(20);
  });

  for (const r of results) {
    it(`${r.id}: its own match and no-match cases`, () => {
      expect(r.failures).toEqual([]);
      expect(r.cases).toBeGreaterThanOrEqual(2);
    });
  }
});
