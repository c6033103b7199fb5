// The built binary, run as a child process: exit codes, stdout/stderr separation, --help, config, colours.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shadowtap.js');
const MCP = join(ROOT, 'fixtures', 'pcap', 'sdk-streamable-sse-stateful.pcapng');
const LOOKALIKE = join(ROOT, 'fixtures', 'pcap', 'lookalike-ethereum-jsonrpc.pcapng');

function run(args: string[], opts: { env?: Record<string, string>; cwd?: string; input?: Buffer } = {}) {
  const env = { ...process.env, ...opts.env };
  delete (env as Record<string, string | undefined>).FORCE_COLOR;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env, encoding: 'utf8', input: opts.input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const oneLine = (s: string) => s.trim().split('\n').length === 1;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('build first: npm run build (npm test does)');
});

describe('shadowtap CLI', () => {
  it('prints its version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  for (const cmd of ['decode', 'scan', 'import', 'rules', 'capture', 'signatures', 'audit']) {
    it(`has --help with examples for ${cmd}`, () => {
      const r = run([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`shadowtap ${cmd}`);
      expect(r.stdout).toContain('Examples:');
    });
  }

  it('exits 2 with one line for an unknown command', () => {
    const r = run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 with one clear line for a missing file', () => {
    const r = run(['scan', 'no-such-file.pcap']);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(/no-such-file\.pcap/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 with one line for a file that is neither capture nor log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-cli-'));
    const f = join(dir, 'garbage.bin');
    writeFileSync(f, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe, 0, 0]));
    const r = run(['decode', f]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain('not a pcap or pcapng file');
  });

  it('exits 1 on shadow MCP and 0 on a look-alike, report on stdout only', () => {
    const hit = run(['scan', MCP]);
    expect(hit.code).toBe(1);
    expect(hit.stdout).toContain('SHADOW');
    expect(hit.stdout).toContain('10.99.1.10:3000');
    expect(hit.stderr).toBe('');
    const clean = run(['scan', LOOKALIKE]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('0 MCP server finding(s)');
  });

  it('writes machine formats to stdout and a summary to stderr', () => {
    const r = run(['scan', MCP, '--format', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.findings.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/^shadowtap: \d+ finding/);
    const q = run(['scan', MCP, '--format', 'ndjson', '--quiet']);
    expect(q.stderr).toBe('');
    for (const line of q.stdout.trim().split('\n')) expect(JSON.parse(line).type).toBe('shadowtap.finding');
  });

  it('--verbose lists inputs and anomalies on stderr; --quiet silences it', () => {
    const v = run(['scan', MCP, '--format', 'json', '--verbose']);
    expect(v.stderr).toMatch(/^shadowtap: input .*sdk-streamable-sse-stateful\.pcapng: pcapng, \d+ frames/m);
    expect(v.stderr).toMatch(/^shadowtap: stat frames \d+/m);
    expect(() => JSON.parse(v.stdout)).not.toThrow();
    expect(run(['scan', MCP, '--format', 'json', '--verbose', '--quiet']).stderr).toBe('');
  });

  it('reads a capture, gzip or not, and a log from stdin with -', () => {
    const pcap = readFileSync(MCP);
    for (const input of [pcap, gzipSync(pcap)]) {
      const r = run(['scan', '-', '--format', 'json', '--quiet'], { input });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).findings.some((f: { subject: { ip?: string } }) => f.subject.ip === '10.99.1.10')).toBe(true);
    }
    const log = readFileSync(join(ROOT, 'fixtures', 'logs', 'dnsmasq', 'dnsmasq.log'));
    const r = run(['import', '-', '--format-out', 'json', '--quiet'], { input: log });
    expect(JSON.parse(r.stdout).inputs[0]).toMatchObject({ file: '-', format: 'dnsmasq' });
  });

  it('scan sorts a directory by content: captures to the capture reader, logs to the importers', () => {
    const r = run(['scan', join(ROOT, 'fixtures', 'logs', 'suricata'), '--format', 'json', '--quiet', '--fail-on', 'none']);
    expect(r.code).toBe(0);
    const inputs = JSON.parse(r.stdout).inputs as Array<{ file: string; kind: string; format: string }>;
    expect(inputs.find((i) => i.file.endsWith('source.pcap'))).toMatchObject({ kind: 'capture', format: 'pcap' });
    expect(inputs.find((i) => i.file.endsWith('eve.json'))).toMatchObject({ kind: 'log', format: 'suricata' });
    expect(inputs.some((i) => i.file.endsWith('source.pcap') && i.kind === 'log')).toBe(false);
  });

  it('honours --fail-on', () => {
    expect(run(['scan', MCP, '--fail-on', 'none']).code).toBe(0);
    expect(run(['scan', MCP, '--fail-on', 'high']).code).toBe(1);
  });

  it('takes defaults from shadowtap.config.json, and flags win over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-cfg-'));
    writeFileSync(join(dir, 'shadowtap.config.json'), JSON.stringify({ failOn: 'none', output: 'csv' }));
    const fromConfig = run(['scan', MCP], { cwd: dir });
    expect(fromConfig.code).toBe(0);
    expect(fromConfig.stdout.split('\n')[0]).toMatch(/^id,status,confidence/);
    const flagWins = run(['scan', MCP, '--fail-on', 'low', '--format', 'json'], { cwd: dir });
    expect(flagWins.code).toBe(1);
    expect(() => JSON.parse(flagWins.stdout)).not.toThrow();
    const explicit = run(['--config', join(dir, 'shadowtap.config.json'), 'scan', MCP]);
    expect(explicit.code).toBe(0);
  });

  it('rejects an invalid config with one line and exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-cfg-'));
    writeFileSync(join(dir, 'shadowtap.config.json'), JSON.stringify({ failOn: 'sometimes', colour: true }));
    const r = run(['scan', MCP], { cwd: dir });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain('shadowtap.config.json');
  });

  it('uses colours only on a terminal, and never with NO_COLOR', () => {
    const plain = run(['scan', MCP]);
    expect(plain.stdout).not.toContain('\x1b[');
    const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
    if (!hasScript) return;
    const tty = (env: Record<string, string>) =>
      spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} scan ${JSON.stringify(MCP)}`, '/dev/null'], {
        cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8',
      }).stdout;
    expect(tty({})).toContain('\x1b[');
    expect(tty({ NO_COLOR: '1' })).not.toContain('\x1b[');
  });

  it('decode prints NDJSON messages and a summary on stderr', () => {
    const r = run(['decode', MCP, '--kind', 'jsonrpc']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((m) => m.kind === 'jsonrpc')).toBe(true);
    expect(lines.map((m) => m.method)).toContain('tools/call');
    expect(JSON.parse(r.stderr.trim()).summary.frames).toBeGreaterThan(0);
  });

  it('renders rules from a saved report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-rules-'));
    const report = join(dir, 'report.json');
    expect(run(['scan', MCP, '--format', 'json', '-o', report, '--quiet']).code).toBe(1);
    const r = run(['rules', '--from', report, '-t', 'nftables', '--min-confidence', 'low']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('10.99.1.10');
  });
});

describe('shadowtap CLI: a reader that stops early', () => {
  it('decode | head: exits at once with 0, no EPIPE trace, without reading the rest', async () => {
    const { spawn } = await import('node:child_process');
    // 40 copies of the demo capture: ~1.9 MB of NDJSON, far more than a pipe holds.
    const files = Array.from({ length: 40 }, () => join(ROOT, 'fixtures', 'sample', 'demo.pcapng'));
    const child = spawn(process.execPath, [BIN, 'decode', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    // Read one chunk, then nothing more (the child blocks on the full pipe), then close our end.
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => {
      child.stdout.pause();
      resolve(String(d));
    }));
    child.stdout.destroy(); // like `head -c` closing its end
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(first).toMatch(/^\{"file":/);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    // Stopped early: far fewer than 40 per-file summaries on stderr.
    expect(stderr.split('\n').filter((l) => l.startsWith('{"summary"')).length).toBeLessThan(40);
  });
});

describe('shadowtap CLI: a report reader that stops early', () => {
  it('scan | head: the exit code still says shadow MCP was found, no EPIPE trace', async () => {
    const { spawn } = await import('node:child_process');
    const { readdirSync } = await import('node:fs');
    const dir = join(ROOT, 'fixtures', 'pcap');
    const captures = readdirSync(dir).filter((f) => f.endsWith('.pcapng')).map((f) => join(dir, f));
    const child = spawn(process.execPath, [BIN, 'scan', ...captures, '--format', 'json', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.stdout.destroy(); // closed before the report comes: writing it fails with EPIPE
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
  });
});

describe('shadowtap CLI: a slow reader', () => {
  it('holds decode back (output does not pile up in memory), and everything arrives once it reads', async () => {
    const { spawn } = await import('node:child_process');
    const demo = join(ROOT, 'fixtures', 'sample', 'demo.pcapng');
    const files = Array.from({ length: 40 }, () => demo);
    const child = spawn(process.execPath, [BIN, 'decode', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve) => child.stdout.once('data', (d: Buffer) => {
      chunks.push(d);
      child.stdout.pause();
      resolve();
    }));
    await new Promise((r) => setTimeout(r, 600));
    const summaries = () => stderr.split('\n').filter((l) => l.startsWith('{"summary"')).length;
    expect(summaries()).toBeLessThan(10); // ~2 files' output fills the pipe; the rest waits
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(summaries()).toBe(40);
    const one = spawnSync(process.execPath, [BIN, 'decode', '-q', demo], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout;
    expect(Buffer.concat(chunks).toString('utf8')).toBe(one.repeat(40));
  });
});

describe('shadowtap CLI: inputs that name nothing', () => {
  it('a missing capture: one line, the error code once', () => {
    const r = run(['decode', '/nonexistent/x.pcap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("shadowtap: /nonexistent/x.pcap: cannot read (ENOENT: no such file or directory, open '/nonexistent/x.pcap')\n");
  });

  it('an unknown --kind is a usage error, not an empty output; none prints only the summary', () => {
    const bogus = run(['decode', MCP, '--kind', 'bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/kind.*"bogus"/s);
    const none = run(['decode', MCP, '--kind', 'none']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(JSON.parse(none.stderr).summary.messages).toBeGreaterThan(0);
  });

  it('an empty directory is counted, for scan and import', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowtap-empty-'));
    for (const cmd of [['scan', '--format'], ['import', '--format-out']]) {
      const r = run([cmd[0]!, dir, cmd[1]!, 'json', '--quiet']);
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { anomalies: Array<{ name: string; count: number; examples: Array<{ file: string }> }> };
      expect(report.anomalies).toEqual([{ name: 'input.empty_directory', count: 1, examples: [{ file: dir }] }]);
    }
  });
});
