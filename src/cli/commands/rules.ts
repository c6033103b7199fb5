// `shadowtap rules`: findings (from a saved report or passed in) → block rules for each chosen target.
// Refused values are listed on stderr and never reach a rule; a target that fails to render writes
// nothing (fail closed) and makes the exit code 2.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Confidence, Finding } from '../../detect/finding.js';
import { buildRuleSet, findTarget, TARGETS, type BlockWhat, type RuleSet } from '../../rules/index.js';
import type { RenderOptions, RuleTarget } from '../../rules/render.js';
import { EXIT, UsageError, type CliIO } from '../io.js';

export interface RulesCommandOptions {
  from?: string;
  findings?: Finding[];
  /** Target ids, comma lists allowed inside entries; 'all' for every target. */
  target: string[];
  minConfidence?: Confidence;
  block?: BlockWhat[];
  templates?: string;
  /** Directory: one file per target. */
  out?: string;
  suricataAction?: RenderOptions['suricataAction'];
  cloudflarePrecedenceBase?: number;
  quiet?: boolean;
  /** Print the targets (id, output file, validator) and exit. */
  list?: boolean;
}

export async function runRules(opts: RulesCommandOptions, io: CliIO): Promise<number> {
  try {
    return await rules(opts, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`shadowtap rules: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

async function rules(opts: RulesCommandOptions, io: CliIO): Promise<number> {
  if (opts.list) {
    const w = Math.max(...TARGETS.map((t) => t.meta.id.length));
    for (const t of TARGETS) io.stdout(`${t.meta.id.padEnd(w)}  ${t.meta.fileName}  ${t.meta.title}${t.meta.validator ? ` (check: ${t.meta.validator})` : ''}\n`);
    return EXIT.clean;
  }
  const targets = resolveTargets(opts.target);
  if (targets.length > 1 && !opts.out) throw new UsageError(`${targets.length} targets need --out DIR (one file per target)`);
  for (const b of opts.block ?? []) {
    if (!['servers', 'domains', 'ports', 'all'].includes(b)) throw new UsageError(`--block takes servers, domains, ports or all, not ${JSON.stringify(b)}`);
  }
  if (opts.minConfidence && !['low', 'medium', 'high'].includes(opts.minConfidence)) {
    throw new UsageError(`--min-confidence takes low, medium or high`);
  }
  const findings = opts.findings ?? (opts.from ? await readFindings(opts.from) : undefined);
  if (!findings) throw new UsageError('give --from REPORT.json (a scan or import report)');

  const set = buildRuleSet(findings, { minConfidence: opts.minConfidence, block: opts.block });
  const renderOptions: RenderOptions = {
    templatesDir: opts.templates,
    suricataAction: opts.suricataAction,
    cloudflarePrecedenceBase: opts.cloudflarePrecedenceBase,
  };

  let failed = 0;
  const written: string[] = [];
  if (opts.out) await mkdir(opts.out, { recursive: true });
  for (const t of targets) {
    let text: string;
    try {
      text = t.render(set, renderOptions);
    } catch (e) {
      failed++;
      io.stderr(`shadowtap rules: ${t.meta.id}: not rendered: ${(e as Error).message}\n`);
      continue;
    }
    if (opts.out) {
      const file = join(opts.out, t.meta.fileName);
      await writeFile(file, text);
      written.push(file);
    } else io.stdout(text);
  }
  if (!opts.quiet) io.stderr(summary(set, written));
  return failed > 0 ? EXIT.usage : EXIT.clean;
}

export function resolveTargets(raw: string[]): RuleTarget[] {
  const ids = raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new UsageError(`--target is required: all, or some of ${TARGETS.map((t) => t.meta.id).join(', ')}`);
  if (ids.includes('all')) return [...TARGETS];
  const out: RuleTarget[] = [];
  for (const id of ids) {
    const t = findTarget(id);
    if (!t) throw new UsageError(`unknown target ${JSON.stringify(id)}; known: all, ${TARGETS.map((x) => x.meta.id).join(', ')}`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** A saved report: `{ findings: Finding[] }`, or a bare array of findings. */
export async function readFindings(file: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  if (Array.isArray(doc)) return doc;
  if (doc && typeof doc === 'object' && Array.isArray((doc as { findings?: unknown }).findings)) return (doc as { findings: unknown[] }).findings;
  throw new UsageError(`${file} has no "findings" array`);
}

function summary(set: RuleSet, written: string[]): string {
  const lines: string[] = [];
  const blocks = set.rules.filter((r) => r.action === 'block');
  const allows = set.rules.length - blocks.length;
  const c = set.counts;
  lines.push(`shadowtap rules: ${c.findings} finding(s) read, ${c.used} used (${c.approved} approved), ${c.belowConfidence} below the minimum confidence, ${c.malformed} malformed`);
  lines.push(`shadowtap rules: ${blocks.length} subject(s) blocked, ${allows} approved subject(s) exempted`);
  if (set.refusals.length > 0) {
    lines.push(`shadowtap rules: ${set.refusals.length} value(s) refused and left out of every rule:`);
    for (const r of set.refusals) lines.push(`  finding ${r.findingId} ${r.field} ${r.preview}: ${r.reason}`);
  }
  for (const f of written) lines.push(`shadowtap rules: wrote ${f}`);
  return lines.join('\n') + '\n';
}
