// Runs every signature's own match / no-match cases through the same index the detector uses,
// so a gate that would hide a signature is caught as well as a wrong condition.
import { SignatureIndex } from './match.js';
import type { CaseFields, CompiledSignature, SignatureSet } from './types.js';

export interface TestResult {
  id: string;
  file: string;
  passed: boolean;
  cases: number;
  /** One line per failing case: "match case 2 did not match". */
  failures: string[];
}

function matchesViaIndex(index: SignatureIndex, sig: CompiledSignature, fields: CaseFields): boolean {
  let hit = false;
  for (const kind of sig.kinds) {
    index.match(kind, fields, (s) => {
      if (s === sig) hit = true;
    });
    if (hit) return true;
  }
  return false;
}

export function testSignatures(set: SignatureSet): TestResult[] {
  const index = new SignatureIndex(set);
  return set.signatures.map((sig) => {
    const failures: string[] = [];
    const { match = [], nomatch = [] } = sig.spec.cases ?? {};
    if (match.length === 0) failures.push('has no match cases');
    if (nomatch.length === 0) failures.push('has no no-match cases');
    match.forEach((c, i) => {
      if (!matchesViaIndex(index, sig, c)) failures.push(`match case ${i} did not match: ${JSON.stringify(c)}`);
    });
    nomatch.forEach((c, i) => {
      if (matchesViaIndex(index, sig, c)) failures.push(`no-match case ${i} matched: ${JSON.stringify(c)}`);
    });
    return { id: sig.id, file: sig.file, passed: failures.length === 0, cases: match.length + nomatch.length, failures };
  });
}
