// Template rendering for rule targets: Handlebars with noEscape (every target has its own syntax, HTML
// escaping would be wrong everywhere), a view model of Safe values only, and per-target quoting helpers
// for the few quoted contexts. Anything unvalidated makes rendering throw: fail closed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { PACKAGE_ROOT } from '../version.js';
import type { RuleSet } from './model.js';
import { assertSafeTree, isSafe, requireSafe, Safe, UnsafeValueError, word } from './safe.js';

export interface TargetMeta {
  /** `--target` name; also the template file name `<id>.hbs`. */
  id: string;
  title: string;
  /** File written under `--out DIR`. */
  fileName: string;
  /** Offline check a user can run on the output, when one exists. */
  validator?: string;
}

export interface RenderOptions {
  /** Directory whose `<id>.hbs` files replace the built-in templates. */
  templatesDir?: string;
  /** Suricata rule action for blocked subjects (IDS deployments only alert). Default 'alert'. */
  suricataAction?: 'alert' | 'drop' | 'reject';
  /** First Gateway precedence used; DNS, HTTP and network policies go in bands above it. Default 10000. */
  cloudflarePrecedenceBase?: number;
}

export interface RuleTarget {
  meta: TargetMeta;
  render(rules: RuleSet, options?: RenderOptions): string;
}

export class RenderError extends Error {}

export const BUILTIN_TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** Renders `<id>.hbs` over a view model after checking that the model holds only validated values. */
export function renderTemplate(id: string, view: Record<string, unknown>, options: RenderOptions = {}): string {
  assertSafeTree(view);
  const file = templatePath(id, options.templatesDir);
  let tpl = compiled.get(file);
  if (!tpl) {
    const source = readFileSync(file, 'utf8');
    tpl = env.compile(source, { noEscape: true, strict: true });
    compiled.set(file, tpl);
  }
  const out = tpl(view);
  assertPlainText(out, id);
  return out;
}

export function templatePath(id: string, dir?: string): string {
  if (!/^[a-z0-9-]+$/.test(id)) throw new RenderError(`bad target id ${JSON.stringify(id)}`);
  if (dir) {
    const custom = join(dir, `${id}.hbs`);
    if (existsSync(custom)) return custom;
  }
  return join(BUILTIN_TEMPLATES_DIR, `${id}.hbs`);
}

/** Output is printable ASCII plus tab and newline; anything else means a value escaped validation. */
export function assertPlainText(out: string, id: string): void {
  for (let i = 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    if (c === 0x0a || c === 0x09) continue;
    if (c < 0x20 || c > 0x7e) throw new RenderError(`${id}: output holds character U+${c.toString(16).padStart(4, '0')} at ${i}; refusing`);
  }
}

// ---- helpers ---------------------------------------------------------------------------------

const env = Handlebars.create();

/** "value": for nft, iptables, Suricata msg, Squid, Cloudflare strings. Safe charsets hold no quote or backslash. */
env.registerHelper('q', (v: unknown) => {
  const s = requireSafe(v, 'q').value;
  if (/["\\\n\r]/.test(s)) throw new UnsafeValueError('q', s);
  return `"${s}"`;
});

/** 'value': PowerShell single-quoted (no interpolation inside); a ' is doubled. */
env.registerHelper('sq', (v: unknown) => `'${requireSafe(v, 'sq').value.replace(/'/g, "''")}'`);

/** HCL quoted template string: escape backslash and quote, and neutralise ${ and %{ interpolation. */
env.registerHelper('hcl', (v: unknown) => hclString(requireSafe(v, 'hcl').value));

/** JSON text of a Safe tree: {{json value}} or {{json value 2}} for indentation. */
env.registerHelper('json', (v: unknown, ...rest: unknown[]) => {
  const indent = typeof rest[0] === 'number' ? rest[0] : undefined;
  assertSafeTree(v, 'json');
  return JSON.stringify(v, (_k, x: unknown) => (isSafe(x) ? x.value : x), indent);
});

/** Joins Safe values with a separator written in the template: {{join ports ", "}}. */
env.registerHelper('join', (v: unknown, sep: unknown) => {
  if (!Array.isArray(v) || typeof sep !== 'string') throw new UnsafeValueError('join', v);
  return v.map((x) => (typeof x === 'number' ? String(x) : requireSafe(x, 'join').value)).join(sep);
});

export function hclString(s: string): string {
  if (/[\n\r]/.test(s)) throw new UnsafeValueError('hcl', s);
  // Function replacements: in a replacement string `$$` would itself mean a single `$`.
  const escaped = s.replace(/\\/g, () => '\\\\').replace(/"/g, () => '\\"').replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
  return `"${escaped}"`;
}

/**
 * Every value of a rule set is a Safe of the right kind. Targets read `.value` of subject fields to
 * build names and expressions, so this gate runs before any of that (from headerView and gatewayPlan).
 */
export function assertRuleSet(set: RuleSet): void {
  const want = (v: unknown, kind: string, where: string) => {
    if (requireSafe(v, where).kind !== kind) throw new UnsafeValueError(`${where} (not a ${kind})`, v);
  };
  for (const r of set.rules) {
    if (r.action !== 'block' && r.action !== 'allow') throw new UnsafeValueError('rule action', r.action);
    requireSafe(r.comment, 'rule comment');
    for (const b of r.because) want(b, 'id', 'finding id');
    const s = r.subject;
    switch (s.kind) {
      case 'name':
        want(s.name, 'domain', 'host name');
        break;
      case 'endpoint':
        want(s.ip, 'ip', 'address');
        if (s.port !== undefined) want(s.port, 'port', 'port');
        break;
      case 'port':
        want(s.port, 'port', 'port');
        break;
      case 'http':
        want(s.host, 'domain', 'HTTP host');
        for (const p of s.paths) want(p, 'path', 'HTTP path');
        break;
      default:
        throw new UnsafeValueError('rule subject', (s as { kind: unknown }).kind);
    }
  }
}

// ---- small shared pieces for targets ----------------------------------------------------------

/** A comment cut to `max` characters (nft element comments stop at 128 bytes). */
export function clip(comment: Safe, max: number): Safe {
  if (comment.value.length <= max) return comment;
  return word(comment.value.slice(0, max - 4).replace(/[ ,]+[^ ,]*$/, '') + ' ...');
}

/** Stable 8-hex-digit name suffix for a subject key (FNV-1a). */
export function stableHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Header lines common to all targets: what made the file and how many rules it holds. */
export function headerView(set: RuleSet, meta: TargetMeta): Record<string, unknown> {
  assertRuleSet(set);
  const blocks = set.rules.filter((r) => r.action === 'block').length;
  const allows = set.rules.length - blocks;
  return {
    title: word(meta.title),
    fileName: word(meta.fileName),
    validator: meta.validator ? word(meta.validator) : null,
    summary: word(`${blocks} block and ${allows} allow subjects from ${set.counts.used} findings, ${set.refusals.length} values refused`),
  };
}

export { Safe };
