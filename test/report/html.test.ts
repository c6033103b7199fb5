// The HTML report of a real run (fixture captures made by real MCP programs, plus a log and an approved
// registry), checked against the JSON report of the same run: as text, and in a real headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core) with every request recorded.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { runScan } from '../../src/cli/commands/scan.js';
import type { Finding } from '../../src/detect/finding.js';
import { analyze } from '../../src/pipeline/scan.js';
import { formatReport } from '../../src/report/formats.js';
import { findingRules, formatHtml, humanDuration } from '../../src/report/html.js';
import type { ScanReport } from '../../src/report/model.js';

const ROOT = join(__dirname, '..', '..');
const PCAP = join(ROOT, 'fixtures', 'pcap');
const CAPTURES = [
  'sdk-streamable-sse-stateful.pcapng', // 10.99.1.10:3000, approved below (fixtures/make/make-all.sh)
  'sdk-legacy-sse-nanosec.pcap',
  'sdk-streamable-json-stateless-sll2.pcapng',
  'supergateway-stdio-to-websocket.pcapng',
  'mcp-remote-client.pcapng',
  'dns-mcp-names.pcapng',
  'tls-sni-mcp-notion.pcapng',
].map((f) => join(PCAP, f));
const LOGS = [join(ROOT, 'fixtures', 'logs', 'suricata', 'eve.json')];
const APPROVED_SERVER = { ip: '10.99.1.10', port: 3000 };
const CHROMIUM = process.env.SHADOWTAP_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = join(ROOT, 'test-artifacts');
if (!HAVE_CHROMIUM) console.warn(`test/report/html.test.ts: browser tests SKIPPED: ${CHROMIUM} is missing (apt-get install chromium)`);
const EVIL = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`;

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

let dir: string;
let approvedFile: string;
let json: ScanReport; // parsed back from the JSON text: the numbers the page must show
let jsonText: string;
let htmlFile: string;
let html: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowtap-html-'));
  approvedFile = join(dir, 'approved.json');
  writeFileSync(approvedFile, JSON.stringify({ servers: [{ ...APPROVED_SERVER, note: 'platform team tools server' }] }));
  const report = await analyze({ captures: CAPTURES, logs: LOGS.filter(existsSync) }, { approved: approvedFile });
  jsonText = await formatReport(report, 'json');
  html = await formatReport(report, 'html', { html: { rules: findingRules(report.findings), title: 'Shadow MCP report: fixture run' } });
  htmlFile = join(dir, 'report.html');
  writeFileSync(join(dir, 'report.json'), jsonText);
  writeFileSync(htmlFile, html);
  json = JSON.parse(jsonText) as ScanReport;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTML report as text', () => {
  it('comes from a run with several shadow findings and an approved one', () => {
    expect(json.summary.shadow).toBeGreaterThanOrEqual(4);
    expect(json.summary.approved).toBe(1);
    const approved = json.findings.find((f) => f.approved)!;
    expect(approved.subject).toMatchObject(APPROVED_SERVER);
  });

  it('is self-contained: nothing outside the file is referenced', () => {
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(html).toContain("default-src 'none'");
    // Exactly one script element: the template's own filter script.
    expect(html.match(/<script\b/gi)).toHaveLength(1);
  });

  it('holds one table row and one details section per finding of the JSON report', () => {
    for (const f of json.findings) {
      expect(html).toContain(`<tr class="finding" data-id="${f.id}"`);
      expect(html).toContain(`<details id="f-${f.id}"`);
    }
    expect(html.match(/<tr class="finding"/g)).toHaveLength(json.findings.length);
  });

  it('shows the generated rules of each shadow finding with an address, restricted to that finding', () => {
    const withIp = json.findings.filter((f) => !f.approved && f.subject.ip);
    expect(withIp.length).toBeGreaterThan(1);
    for (const f of withIp) {
      const section = detailsOf(html, f.id);
      expect(section).toContain('data-target="nftables"');
      expect(section).toContain('data-target="suricata"');
      const rules = [...section.matchAll(/<pre class="rule"[^>]*>([\s\S]*?)<\/pre>/g)].map((m) => m[1]!).join('\n');
      expect(rules).toContain(f.subject.ip!);
      // Built from this finding alone: no other finding's id appears in its rules.
      for (const other of json.findings) if (other.id !== f.id) expect(rules).not.toContain(other.id);
    }
    const approved = json.findings.find((f) => f.approved)!;
    expect(detailsOf(html, approved.id)).not.toContain('<pre class="rule"');
  });

  it('wires the rules in through `shadowtap scan --format html --out`', async () => {
    const out = join(dir, 'cli.html');
    const err: string[] = [];
    const code = await runScan(
      { files: [CAPTURES[0]!, CAPTURES[3]!], mode: 'scan', output: 'html', out, minConfidence: 'low', failOn: 'none', approved: approvedFile, quiet: true },
      { stdout: () => undefined, stderr: (t) => err.push(t), isTTY: false, color: false },
    );
    expect(code).toBe(0);
    const page = readFileSync(out, 'utf8');
    expect(page.match(/<tr class="finding"/g)).toHaveLength(2);
    expect(page).toContain('data-target="nftables"');
    expect(page).toMatch(/<pre class="rule" data-target="nftables">[^<]*10\.99\.22\.10 \. 8000/);
  });

  it('writes hostile names, client names and evidence as text, never markup', () => {
    const evil = hostileReport(json);
    const page = formatHtml(evil, { rules: findingRules(evil.findings) });
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.match(/<script\b/gi)).toHaveLength(1);
    // Attribute values cannot be closed early: quotes are entities inside data-search and title.
    const searchAttr = /data-search="([^"]*)"/.exec(page)![1]!;
    expect(searchAttr).toContain('&quot;');
    expect(searchAttr).toContain('&#x27;');
    // The rule validators refuse the hostile name: it reaches no rule text.
    for (const m of page.matchAll(/<pre class="rule"[^>]*>([\s\S]*?)<\/pre>/g)) expect(m[1]).not.toMatch(/<script|&lt;script|alert\(|onerror/);
  });

  it('cuts long quiet periods out of the timeline and says how long they were', () => {
    // Half the servers two hours later: the axis must show the bursts with an hours-long break, not hairlines.
    const later = (f: Finding, i: number): Finding => {
      if (i % 2 === 0) return f;
      const shift = (t: number) => t + 7200;
      return { ...f, firstSeen: shift(f.firstSeen), lastSeen: shift(f.lastSeen), signals: f.signals.map((s) => ({ ...s, evidence: s.evidence.map((e) => ({ ...e, ts: shift(e.ts) })) })) };
    };
    const report = { ...json, findings: json.findings.map(later) };
    const page = formatHtml(report, {});
    const gaps = [...page.matchAll(/<text class="gap"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    const hours = gaps.filter((g) => g!.endsWith(' h')).map((g) => Number(g!.slice(1, -2)));
    expect(hours).toHaveLength(1);
    expect(hours[0]).toBeGreaterThan(1.5); // two hours less the spread of the original bursts
    expect(hours[0]).toBeLessThanOrEqual(2);
    // Every dot lies inside the plot, right of the labels and left of the counts.
    const xs = [...page.matchAll(/<circle class="dot [a-z]+" cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs.length).toBeGreaterThan(json.findings.length);
    for (const x of xs) expect(x > 240 && x < 1010, String(x)).toBe(true);
    // Without the shift, no break is counted in hours.
    expect([...formatHtml(json, {}).matchAll(/<text class="gap"[^>]*>([^<]*)<\/text>/g)].filter((m) => m[1]!.endsWith(' h'))).toEqual([]);
  });

  it('formats durations for people', () => {
    expect(humanDuration(0.0421)).toBe('42 ms');
    expect(humanDuration(3.25)).toBe('3.3 s');
    expect(humanDuration(600)).toBe('10 min');
    expect(humanDuration(7200)).toBe('2.0 h');
  });
});

describe.skipIf(!HAVE_CHROMIUM)(`HTML report in headless Chromium${HAVE_CHROMIUM ? '' : ` (SKIPPED: ${CHROMIUM} is missing; install Debian's chromium package, as scripts/setup.sh does)`}`, () => {
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const failed: string[] = [];
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    const userDataDir = mkdtempSync(join(tmpdir(), 'shadowtap-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
      ],
    });
    context.on('request', (r) => requests.push(r.url()));
    context.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
  });

  it('loads with no console errors and fetches nothing but the file itself', () => {
    expect(consoleErrors).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests).toEqual([pathToFileURL(htmlFile).href]);
  });

  it('shows summary cards equal to the JSON report', async () => {
    const card = (k: string) => page.locator(`#summary [data-k="${k}"]`).innerText().then(Number);
    expect(await card('shadow')).toBe(json.summary.shadow);
    expect(await card('approved')).toBe(json.summary.approved);
    expect(await card('clients')).toBe(json.summary.clients);
    expect(await card('anomalies')).toBe(json.summary.anomalies);
    const registries = new Set(json.findings.map((f) => f.subject.domain).filter(Boolean));
    expect(await card('registries')).toBe(registries.size);
    expect(await card('toolCalls')).toBe(json.findings.filter((f) => !f.approved).reduce((t, f) => t + sum(f.tools), 0));
  });

  it('has one row per finding with its method and tool-call totals', async () => {
    const rows = await page.$$eval('tr.finding', (trs) =>
      trs.map((tr) => ({
        id: (tr as HTMLElement).dataset.id!,
        status: (tr as HTMLElement).dataset.status!,
        methods: Number(tr.querySelector('[data-k="methods"]')!.textContent),
        tools: Number(tr.querySelector('[data-k="tools"]')!.textContent),
      })),
    );
    expect(rows).toHaveLength(json.findings.length);
    const byId = new Map(json.findings.map((f) => [f.id, f]));
    for (const r of rows) {
      const f = byId.get(r.id)!;
      expect(f, r.id).toBeDefined();
      expect(r.methods).toBe(sum(f.methods));
      expect(r.tools).toBe(sum(f.tools));
      expect(r.status).toBe(f.approved ? 'approved' : 'shadow');
    }
    expect(new Set(rows.map((r) => r.id)).size).toBe(json.findings.length);
    expect(rows.some((r) => r.tools > 0)).toBe(true);
  });

  it('lists every anomaly with the JSON counts', async () => {
    const counts = await page.$$eval('#anomalies [data-k="count"]', (tds) => tds.map((td) => Number(td.textContent)));
    expect(counts).toHaveLength(json.anomalies.length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(json.summary.anomalies);
  });

  it('draws one timeline row per finding', async () => {
    const ids = await page.$$eval('svg#timeline g.trow', (gs) => gs.map((g) => (g as SVGElement).dataset.id));
    expect(new Set(ids)).toEqual(new Set(json.findings.map((f) => f.id)));
  });

  it('filters rows by search text, status and transport', async () => {
    await page.reload({ waitUntil: 'load' });
    const visible = () => page.$$eval('tr.finding', (trs) => trs.filter((tr) => (tr as HTMLElement).offsetParent !== null).map((tr) => (tr as HTMLElement).dataset.id!));
    const target = json.findings.find((f) => !f.approved && f.subject.ip)!;
    await page.fill('#q', target.id);
    expect(await visible()).toEqual([target.id]);
    expect(await page.locator('#shown').innerText()).toBe(`1 of ${json.findings.length} shown`);
    await page.fill('#q', 'no-such-server-anywhere');
    expect(await visible()).toEqual([]);
    await page.fill('#q', '');
    expect(await visible()).toHaveLength(json.findings.length);

    await page.uncheck('.f-status[value="shadow"]');
    const approved = json.findings.filter((f) => f.approved).map((f) => f.id);
    expect((await visible()).sort()).toEqual(approved.sort());
    expect(await page.locator(`details#f-${target.id}`).isVisible()).toBe(false);
    await page.check('.f-status[value="shadow"]');

    await page.selectOption('#f-transport', 'dns-only');
    const dns = json.findings.filter((f) => f.transport === 'dns-only').map((f) => f.id);
    expect(dns.length).toBeGreaterThan(0);
    expect((await visible()).sort()).toEqual(dns.sort());
    await page.selectOption('#f-transport', '');
    expect(await visible()).toHaveLength(json.findings.length);
  });

  it('opens a finding from its row and shows its evidence frames and rules', async () => {
    await page.reload({ waitUntil: 'load' });
    const f = json.findings.find((x) => !x.approved && x.subject.ip && sum(x.tools) > 0)!;
    const details = page.locator(`details#f-${f.id}`);
    expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await page.click(`tr.finding[data-id="${f.id}"] td:nth-child(4)`);
    expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    const frames = await details.locator('.where[data-frame]').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.frame)));
    const expected = f.signals.flatMap((s) => s.evidence.map((e) => e.source.frame)).filter((n): n is number => n !== undefined);
    expect(frames.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    expect(await details.locator('.where[data-frame]').first().isVisible()).toBe(true);
    const rules = await details.locator('pre.rule').allInnerTexts();
    expect(rules.length).toBeGreaterThanOrEqual(2);
    expect(rules.join('\n')).toContain(f.subject.ip!);
    const tools = await details.locator('ul.tools li .mono').allInnerTexts();
    expect(tools.sort()).toEqual(Object.keys(f.tools).sort());
  });

  it('writes a full-page screenshot to test-artifacts/report.png', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    // Open the first shadow finding with tool calls, as an analyst would before handing the page on.
    const f = json.findings.find((x) => !x.approved && sum(x.tools) > 0)!;
    await page.evaluate((id) => { (document.getElementById(`f-${id}`) as HTMLDetailsElement).open = true; }, f.id);
    const file = join(ARTIFACTS, 'report.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280); // IHDR width
    expect(png.readUInt32BE(20)).toBeGreaterThan(1500); // the whole page, not one screen
  });

  it('renders a hostile report as inert text', async () => {
    const file = join(dir, 'evil.html');
    writeFileSync(file, formatHtml(hostileReport(json), {}));
    const before = dialogs.length;
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(dialogs.length).toBe(before);
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.locator('main img').count()).toBe(0);
    const text = await page.locator('tr.finding').first().innerText();
    expect(text).toContain('<script>alert(1)</script>');
    await page.fill('#q', '<script>');
    expect(await page.$$eval('tr.finding', (trs) => trs.filter((tr) => (tr as HTMLElement).offsetParent !== null).length)).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
  });
});

/** The HTML between a finding's `<details>` open and close tags. */
function detailsOf(page: string, id: string): string {
  const start = page.indexOf(`<details id="f-${id}"`);
  expect(start).toBeGreaterThan(0);
  return page.slice(start, page.indexOf('</details>', start));
}

/** The run's report with attacker-chosen strings everywhere a capture or log can put text. */
function hostileReport(base: ScanReport): ScanReport {
  const evil = (f: Finding): Finding => ({
    ...f,
    subject: { ...f.subject, names: [EVIL, ...f.subject.names] },
    clients: f.clients.map((c) => ({ ...c, name: EVIL, userAgent: EVIL })),
    server: { ...f.server, name: EVIL, version: `"${EVIL}` },
    paths: [`/${EVIL}`],
    methods: { ...f.methods, [EVIL]: 1 },
    tools: { ...f.tools, [EVIL]: 2 },
    signals: f.signals.map((s) => ({ ...s, evidence: s.evidence.map((e) => ({ ...e, detail: EVIL })) })),
  });
  const findings = base.findings.map(evil);
  return {
    ...base,
    findings,
    inputs: base.inputs.map((i) => ({ ...i, file: `${i.file}${EVIL}` })),
    anomalies: [...base.anomalies, { name: 'http.bad_header', count: 1, examples: [{ file: EVIL, frame: 1, detail: EVIL }] }],
    stats: { ...base.stats, [EVIL]: 1 },
  };
}
