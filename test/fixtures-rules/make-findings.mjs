import { writeFileSync } from 'node:fs';
const T = 1764057600; // 2025-11-25T08:00:00Z, seconds
const sig = (signatureId, title, confidence, file, where, detail) => ({
  signatureId, title, confidence, severity: confidence === 'high' ? 'high' : confidence === 'medium' ? 'medium' : 'low',
  count: 1, evidence: [{ source: { kind: file.endsWith('.log') ? 'log' : 'pcap', file, format: file.endsWith('.log') ? 'zeek.ssl' : 'pcap', ...where }, ts: T, detail }],
});
const base = (id, subject, transport, confidence, extra = {}) => ({
  id, subject, transport, clients: [{ ip: '10.20.0.101' }], server: {}, paths: [], methods: {}, tools: {},
  signals: [], confidence, score: confidence === 'high' ? 0.9 : confidence === 'medium' ? 0.6 : 0.3,
  severity: confidence === 'high' ? 'high' : 'medium', firstSeen: T - 3600, lastSeen: T, sources: ['pcap'], approved: false, ...extra,
});
const findings = [
  base('a1b2c3d4e5f60718', { ip: '10.20.0.15', port: 8080, names: ['mcp-dev.corp.example.com'] }, 'streamable-http', 'high', {
    paths: ['/mcp'], methods: { initialize: 1, 'tools/list': 1, 'tools/call': 3 }, tools: { run_query: 3 },
    server: { name: 'corp-db-mcp', version: '0.3.1', protocolVersion: '2025-06-18' },
    signals: [sig('mcp.jsonrpc.initialize', 'MCP initialize request', 'high', '/captures/office-2025-11-24.pcapng', { frame: 41 }, 'initialize'),
              sig('mcp.http.session-header', 'Mcp-Session-Id header', 'high', '/captures/office-2025-11-24.pcapng', { frame: 44 }, 'mcp-session-id')],
  }),
  base('0b7e44c19a2f3d55', { ip: '203.0.113.45', port: 443, names: ['mcp.linear.app'], domain: 'mcp.linear.app' }, 'tls', 'high', {
    signals: [sig('mcp.hosted.sni', 'TLS SNI of a hosted MCP server', 'high', '/var/log/zeek/ssl.log', { line: 1287 }, 'mcp.linear.app')], sources: ['log'],
  }),
  base('5c0ffee0d15ea5e1', { names: ['registry.modelcontextprotocol.io'], domain: 'registry.modelcontextprotocol.io' }, 'dns-only', 'high', {
    signals: [sig('mcp.registry.dns', 'DNS query for an MCP registry', 'high', '/var/log/zeek/dns.log', { line: 90211 }, 'registry.modelcontextprotocol.io')], sources: ['log'],
  }),
  base('77aa0c3e9b1d2f40', { ip: '2001:DB8:85a3::8A2E:370:7334', port: 3001, names: ['tools.lab.example.net'] }, 'legacy-sse', 'medium', {
    paths: ['/sse', '/messages?sessionId=3f1c'],
    signals: [sig('mcp.sse.endpoint-event', 'SSE endpoint event', 'high', '/captures/lab6.pcap', { frame: 7 }, 'event: endpoint')],
  }),
  base('e0e1e2e3e4e5e6e7', { ip: '127.0.0.1', port: 6274, names: [] }, 'conn-only', 'low', {
    signals: [sig('mcp.port.inspector', 'MCP Inspector UI port', 'low', '/captures/dev-laptop.pcap', { frame: 3 }, 'tcp/6274')],
  }),
  base('f00dbabe12345678', { ip: '192.168.1.50', port: 8811, names: [] }, 'conn-only', 'low', {
    signals: [sig('mcp.port.docker-gateway', 'Docker MCP gateway port', 'low', '/captures/dev-laptop.pcap', { frame: 120 }, 'tcp/8811')],
  }),
  base('c0c0a1a2b3b4c5c6', { ip: '192.168.1.51', port: 443, names: [] }, 'conn-only', 'low', {
    signals: [sig('mcp.port.generic', 'MCP seen on a web port', 'low', '/captures/dev-laptop.pcap', { frame: 121 }, 'tcp/443')],
  }),
  base('9a9a8b8b7c7c6d6d', { ip: '198.51.100.7', port: 443, names: ['mcp-portal.corp.example.com'], domain: 'mcp-portal.corp.example.com' }, 'streamable-http', 'high', {
    paths: ['/mcp'], approved: true, approvedBy: 'corp-mcp-portal',
    signals: [sig('mcp.jsonrpc.initialize', 'MCP initialize request', 'high', '/captures/office-2025-11-24.pcapng', { frame: 900 }, 'initialize')],
  }),
  base('1234abcd5678ef90', { ip: '10.20.0.9', port: 6274, names: [] }, 'conn-only', 'low', {
    approved: true, approvedBy: 'team-inspector',
    signals: [sig('mcp.port.inspector', 'MCP Inspector UI port', 'low', '/captures/dev-laptop.pcap', { frame: 200 }, 'tcp/6274')],
  }),
  base('abcdef0123456789', { ip: '198.51.100.7', port: 8443, names: ['mcp-portal.corp.example.com'] }, 'tls', 'medium', {
    signals: [sig('mcp.name.pattern', 'Host name looks like an MCP server', 'medium', '/captures/office-2025-11-24.pcapng', { frame: 950 }, 'mcp-portal')],
  }),
  base('3e3e3e3e10101010', { ip: '10.20.0.33', port: 3000, names: ['mcp.staging.example.com'] }, 'http', 'medium', {
    paths: ['/mcp', '/mcp/sse'],
    signals: [sig('mcp.http.path', 'HTTP request to /mcp', 'medium', '/captures/office-2025-11-24.pcapng', { frame: 1500 }, 'POST /mcp')],
  }),
  // Hostile values from a capture: every one must be refused; each carries a zzinj marker the tests look for.
  base('deadbeefdeadbeef', {
    ip: '10.0.0.1; reboot zzinj1', port: 70000,
    names: [
      'zzinj2.example.com"; drop table x; "', 'zzinj3.example.com\nrm -rf /', '${jndi:ldap://zzinj4}.example.com',
      'zzinj5;x.example.com', '`zzinj6`.example.com', '%{zzinj7}.example.com', 'zzinj8{1}.example.com', "o'zzinj9.example.com",
      '$(zzinj10).example.com', 'zzinj11\u202e.example.com', 'zzinj12 .example.com', '-zzinj13.example.com', 'zzinj14_.example.com',
      'zzinj15.example.com/../etc', 'zzinj16.example.com\r\n\r\nHTTP/1.1', 'zzinj17.' + 'a'.repeat(64) + '.com', 'co.uk', 'localhost', '127.0.0.1',
      '0x7f.1', 'zzinj18.example.123', 'zzinj19.example.com\\', 'zzinj20.example.com#', 'zzinj21.example.com|id', 'zzinj22.example.com&',
      '*.zzinj23.*.example.com', 'zzinj24.example.com\t', '{{zzinj25}}.example.com', 'zzinj26.example.com]', '<zzinj27>.example.com',
    ],
    domain: 'zzinj28.example.org}`',
  }, 'streamable-http', 'high', {
    paths: ['/mcp"zzinj29', '/x$(zzinj30)', '/ok/../zzinj31;'],
    signals: [{ ...sig('mcp.jsonrpc.initialize', 'MCP initialize request', 'high', '/captures/x";zzinj32.pcap', { frame: 5 }, '"; zzinj33'), signatureId: 'sig"zzinj34' },
              sig('mcp.http.session-header', 'hdr', 'high', '/captures/evil zzinj35.pcap', { frame: 6 }, 'x')],
  }),
  base('NOT-HEX;zzinj36', { ip: '10.9.9.9', port: 9999, names: ['zzinj36ok.example.com'] }, 'streamable-http', 'high'),
  base('beadbeadbeadbead', { ip: '::ffff:10.30.0.5', port: 8000, names: ['mcp.old-box.example.com'] }, 'websocket', 'medium', {
    paths: ['/ws'],
    signals: [sig('mcp.ws.jsonrpc', 'JSON-RPC over WebSocket', 'medium', '/captures/lab6.pcap', { frame: 77 }, 'tools/list')],
  }),
];
writeFileSync('test/fixtures-rules/findings.json', JSON.stringify({ generator: 'hand-made by test/fixtures-rules/make-findings.mjs: realistic findings plus hostile values (zzinj markers)', findings }, null, 2) + '\n');
