// `shadowtap inventory export`: without a kind it exports every kind (servers, domains, clients, dlp, alerts, each
// record with its type) in every format; with one (`export domains`, `--kind domains`) only that kind, as `list`
// gives it. json and ndjson used to ignore the kind, and table and csv without one printed only the servers.
// Runs the CLI in-process (main) on a store filled by `import --db` and `scan --db` over the bundled fixtures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { splitCsv } from '../../src/sources/logs/common.js';
import { cliInProcess, tmp } from './support.js';

const ROOT = join(import.meta.dirname, '../..');
const KINDS = ['servers', 'domains', 'clients', 'dlp', 'alerts'] as const;
type Kind = (typeof KINDS)[number];
const TYPES: Record<Kind, string> = {
  servers: 'shadowtap.inventory.server', domains: 'shadowtap.inventory.domain', clients: 'shadowtap.inventory.client',
  dlp: 'shadowtap.inventory.dlp', alerts: 'shadowtap.inventory.alert',
};
const DEFS: Record<Kind, string> = { servers: 'serverRecord', domains: 'domainRecord', clients: 'clientRecord', dlp: 'dlpRecord', alerts: 'alertRecord' };

// ajv and ajv-formats are CommonJS: under NodeNext the default import may be the module object.
type ValidateFn = ((data: unknown) => boolean) & { errors?: unknown };
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as new (opts: object) => { compile(s: object): ValidateFn };
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: unknown) => void;
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, strictRequired: false });
addFormats(ajv);
const validateExport = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/inventory.schema.json'), 'utf8')));
const def = (name: string): ValidateFn => ajv.compile({ $ref: `https://shadowtap.dev/schemas/inventory.json#/$defs/${name}` });
const validateLine = def('ndjsonRecord');

function valid(validate: ValidateFn, data: unknown, what: string): void {
  expect(validate(data), `${what}: ${JSON.stringify(validate.errors)}`).toBe(true);
}

const cli = cliInProcess;

let db: string;
async function inventory(...args: string[]): Promise<string> {
  const r = await cli(['inventory', ...args, '--db', db]);
  expect(r.code, `inventory ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

type Rec = Record<string, unknown> & { type: string };
/** What `list KIND -f json` gives: the reference every export is checked against. */
const listed = new Map<Kind, Rec[]>();

beforeAll(async () => {
  // Servers, domains and clients from a Suricata EVE log; data-loss hits and behaviour alerts from the audit captures.
  db = join(tmp(), 'inv.db');
  const fills = [
    ['import', join(ROOT, 'fixtures/logs/suricata/eve.json'), '--format-out', 'json'],
    ['scan', join(ROOT, 'fixtures/audit/audit-secrets.pcapng'), join(ROOT, 'fixtures/audit/audit-burst.pcapng'), '-f', 'json'],
  ];
  for (const argv of fills) {
    const r = await cli([...argv, '--db', db, '--quiet', '--fail-on', 'none']);
    expect(r.code, r.stderr).toBe(0);
  }
  for (const k of KINDS) {
    listed.set(k, JSON.parse(await inventory('list', k, '-f', 'json')) as Rec[]);
    expect(listed.get(k)!.length, k).toBeGreaterThan(0);
  }
}, 120_000);

/** Rows of a CSV as objects by header (no cell of these fixtures holds a line break). */
function csvRows(text: string): { header: string[]; rows: Array<Record<string, string>> } {
  const [head, ...lines] = text.trimEnd().split('\n');
  const header = splitCsv(head);
  return { header, rows: lines.map((l) => Object.fromEntries(splitCsv(l).map((c, i) => [header[i], c]))) };
}

describe('inventory export without a kind: every kind', () => {
  it('json is the schema document: each kind as list gives it, and the runs', async () => {
    const doc = JSON.parse(await inventory('export')) as Record<string, Rec[]>;
    expect(await inventory('export', '-f', 'json')).toBe(`${JSON.stringify(doc, null, 2)}\n`);
    valid(validateExport, doc, 'export');
    for (const k of KINDS) expect(doc[k], k).toEqual(listed.get(k));
    expect(doc.runs).toEqual(JSON.parse(await inventory('runs', '-f', 'json')));
  });

  it('ndjson: every record with its type, kind after kind, each line valid', async () => {
    const lines = (await inventory('export', '-f', 'ndjson')).trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    for (const [i, l] of lines.entries()) valid(validateLine, l, `line ${i + 1}`);
    expect(lines).toEqual(KINDS.flatMap((k) => listed.get(k)!));
  });

  it('csv: one header with type first, each kind\'s rows with the cells list KIND -f csv has', async () => {
    const all = csvRows(await inventory('export', '-f', 'csv'));
    expect(all.header.slice(0, 3)).toEqual(['type', 'id', 'status']);
    expect(new Set(all.header).size).toBe(all.header.length);
    expect(all.rows.map((r) => r.type)).toEqual(KINDS.flatMap((k) => listed.get(k)!.map(() => TYPES[k])));
    for (const k of KINDS) {
      const one = csvRows(await inventory('list', k, '-f', 'csv'));
      const mine = all.rows.filter((r) => r.type === TYPES[k]);
      // The kind's own columns carry its values; every other column of its rows is empty.
      expect(mine.map((r) => Object.fromEntries(one.header.map((c) => [c, r[c]]))), k).toEqual(one.rows);
      const others = all.header.filter((c) => c !== 'type' && !one.header.includes(c));
      expect(mine.every((r) => others.every((c) => r[c] === '')), k).toBe(true);
    }
  });

  it('table: one table per kind, as list KIND prints it', async () => {
    const tables = await Promise.all(KINDS.map((k) => inventory('list', k)));
    const all = await inventory('export', '-f', 'table');
    expect(all).toBe(tables.join('\n'));
    expect(all.match(/^\d+ \w+$/gm)).toEqual(KINDS.map((k) => `${listed.get(k)!.length} ${k}`));
  });

  it('filters reach every kind: nothing seen after 2100 leaves five empty kinds (and the runs)', async () => {
    const doc = JSON.parse(await inventory('export', '--since', '2100-01-01')) as Record<string, Rec[]>;
    valid(validateExport, doc, 'export --since');
    expect(KINDS.map((k) => doc[k].length)).toEqual([0, 0, 0, 0, 0]);
    expect(doc.runs.length).toBe(2);
    expect(await inventory('export', '--since', '2100-01-01', '-f', 'ndjson')).toBe('');
    const header = (await inventory('export', '-f', 'csv')).split('\n')[0];
    expect(await inventory('export', '--since', '2100-01-01', '-f', 'csv')).toBe(`${header}\n`);
    expect((await inventory('export', '--since', '2100-01-01', '-f', 'table')).match(/^\d+ \w+$/gm)).toEqual(KINDS.map((k) => `0 ${k}`));
  });
});

describe('inventory export KIND: only that kind, as list gives it, in every format', () => {
  it.each(KINDS)('%s', async (k) => {
    for (const format of ['json', 'ndjson', 'csv', 'table']) {
      const want = await inventory('list', k, '-f', format);
      expect(await inventory('export', k, '-f', format), `export ${k} -f ${format}`).toBe(want);
      expect(await inventory('export', '--kind', k, '-f', format), `export --kind ${k} -f ${format}`).toBe(want);
    }
    // JSON by default, as for export of every kind; each item valid against its kind's record schema.
    const rows = JSON.parse(await inventory('export', k)) as Rec[];
    expect(rows).toEqual(listed.get(k));
    const validate = def(DEFS[k]);
    for (const [i, r] of rows.entries()) valid(validate, r, `${k}[${i}]`);
    const lines = (await inventory('export', k, '-f', 'ndjson')).trimEnd().split('\n').map((l) => JSON.parse(l) as Rec);
    for (const [i, l] of lines.entries()) valid(validateLine, l, `${k} line ${i + 1}`);
    expect(new Set(lines.map((l) => l.type))).toEqual(new Set([TYPES[k]]));
  });
});
