// Rendering fails closed: a value that did not pass a validator cannot reach any output, whether it
// comes through the view model, a helper, or a user's own template.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRuleSet, type RuleSet } from '../../src/rules/model.js';
import { hclString, renderTemplate } from '../../src/rules/render.js';
import { assertSafeTree, UnsafeValueError, word } from '../../src/rules/safe.js';
import { TARGETS, findTarget } from '../../src/rules/index.js';
import { validateDomain } from '../../src/rules/validate.js';
import { loadFindings, tempDir } from './helpers.js';

describe('fail closed', () => {
  it('a raw string anywhere in a view model stops the render', () => {
    expect(() => assertSafeTree({ a: [{ b: word('ok') }, { c: 'raw' }] })).toThrow(UnsafeValueError);
    expect(() => renderTemplate('hosts', { title: word('t'), fileName: word('f'), summary: word('s'), validator: null, blocks: [{ name: 'evil.com', subtree: false, comment: word('c') }] })).toThrow(
      /did not pass a validator/,
    );
  });

  it('word() refuses quoting, interpolation and statement characters', () => {
    for (const bad of ['a"b', "a'b", 'a;b', 'a${b}', 'a%{b}', 'a`b', 'a\nb', 'a{b', 'a\\b', 'a#b']) expect(() => word(bad)).toThrow(UnsafeValueError);
  });

  it('every target refuses a rule set whose values were not validated', () => {
    const good = buildRuleSet(loadFindings(), { minConfidence: 'low', block: ['all'] });
    // Forge a rule set in which one host name is a plain string, as a buggy caller might.
    const forged: RuleSet = {
      ...good,
      rules: good.rules.map((r) =>
        r.subject.kind === 'name' && r.action === 'block' ? { ...r, subject: { ...r.subject, name: 'x.example.com"; drop' as never } } : r,
      ),
    };
    for (const t of TARGETS) expect(() => t.render(forged), t.meta.id).toThrow(UnsafeValueError);
    // A Safe of the wrong kind (a comment where an address belongs) is refused too.
    const wrongKind: RuleSet = {
      ...good,
      rules: good.rules.map((r) => (r.subject.kind === 'endpoint' ? { ...r, subject: { ...r.subject, ip: r.comment } } : r)),
    };
    for (const t of TARGETS) expect(() => t.render(wrongKind), t.meta.id).toThrow(/not a ip/);
  });

  it('a user template replaces the built-in one, and still cannot print a raw value through a helper', () => {
    const dir = tempDir('tpl');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hosts.hbs'), 'CUSTOM {{#each blocks}}{{name}};{{/each}}\n');
    const set = buildRuleSet(loadFindings());
    const text = findTarget('hosts')!.render(set, { templatesDir: dir });
    expect(text.startsWith('CUSTOM ')).toBe(true);
    expect(text).toContain('registry.modelcontextprotocol.io;');
    writeFileSync(join(dir, 'dnsmasq.hbs'), '{{q "literal from a template"}}\n');
    expect(() => findTarget('dnsmasq')!.render(set, { templatesDir: dir })).toThrow(UnsafeValueError);
    // A name not in the override directory falls back to the built-in template.
    expect(findTarget('rpz')!.render(set, { templatesDir: dir })).toContain('$TTL 300');
  });

  it('HCL strings neutralise interpolation and directives', () => {
    expect(hclString('a ${b} %{c} "d" \\e')).toBe('"a $${b} %%{c} \\"d\\" \\\\e"');
  });

  it('names refused by the validator are the ones a capture could use to break out', () => {
    const hostile = ['x.com"\nrm -rf /', 'x.com}; drop', '${file("/etc/passwd")}.com', '%{ if true }x.com', "x.com' -Action Allow '"];
    for (const h of hostile) expect(validateDomain(h).ok).toBe(false);
  });
});
