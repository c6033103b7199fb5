// `shadowtap signatures list|validate|test`: show, check and run the signature packs.
import { EXIT, type CliIO } from '../io.js';
import { loadSignatures, SignatureLoadError } from '../../detect/signatures/load.js';
import { testSignatures } from '../../detect/signatures/tester.js';
import type { SignatureSet } from '../../detect/signatures/types.js';

export interface SignaturesOptions {
  /** Extra pack directories (`--signatures DIR`). */
  signatures?: string[];
  format?: 'table' | 'json';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

async function load(opts: SignaturesOptions, io: CliIO): Promise<SignatureSet | undefined> {
  try {
    return await loadSignatures(opts.signatures ?? []);
  } catch (e) {
    if (e instanceof SignatureLoadError) {
      for (const p of e.problems) io.stderr(`${p}\n`);
      io.stderr(`${e.problems.length} problem(s); no signatures loaded\n`);
      return undefined;
    }
    throw e;
  }
}

export async function runSignatures(
  action: 'list' | 'validate' | 'test',
  opts: SignaturesOptions,
  io: CliIO,
): Promise<number> {
  const set = await load(opts, io);
  if (!set) return EXIT.usage;
  const json = opts.format === 'json';

  if (action === 'list') {
    const sigs = [...set.signatures].sort((a, b) => (a.id < b.id ? -1 : 1));
    if (json) {
      const out = sigs.map((s) => ({
        id: s.id,
        version: s.spec.version,
        title: s.spec.title,
        role: s.spec.role,
        confidence: s.spec.confidence,
        severity: s.spec.severity,
        transport: s.spec.transport,
        kinds: s.kinds,
        tags: s.spec.tags,
        file: s.file,
      }));
      io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const rows = [['ID', 'ROLE', 'CONFIDENCE', 'SEVERITY', 'KINDS', 'TITLE']];
      for (const s of sigs) rows.push([s.id, s.spec.role, s.spec.confidence, s.spec.severity, s.kinds.join(','), s.spec.title]);
      io.stdout(table(rows));
    }
    return EXIT.clean;
  }

  if (action === 'validate') {
    if (json) io.stdout(`${JSON.stringify({ valid: true, packs: set.packs, signatures: set.signatures.length }, null, 2)}\n`);
    else {
      for (const p of set.packs) io.stdout(`${p.file}: ${p.count} signature(s) ok\n`);
      io.stdout(`${set.signatures.length} signatures in ${set.packs.length} pack(s) valid\n`);
    }
    return EXIT.clean;
  }

  const results = testSignatures(set);
  const failed = results.filter((r) => !r.passed);
  if (json) {
    io.stdout(`${JSON.stringify({ passed: results.length - failed.length, failed: failed.length, results }, null, 2)}\n`);
  } else {
    for (const r of results) {
      io.stdout(`${r.passed ? 'ok  ' : 'FAIL'} ${r.id} (${r.cases} cases)\n`);
      for (const f of r.failures) io.stdout(`     ${f}\n`);
    }
    io.stdout(`${results.length - failed.length} passed, ${failed.length} failed\n`);
  }
  // A failing signature is a finding about the signatures themselves.
  return failed.length > 0 ? EXIT.findings : EXIT.clean;
}
