// Every cap and timeout in one place. Each cap that is hit is counted as an anomaly
// (named in the comment) so a report can say what was not inspected.
export const LIMITS = {
  /** Examples kept per anomaly name (file, frame or line). */
  anomalyExamples: 5,
  /** Decoded layers per frame (VLAN tags, IPv6 extension headers) before giving up: `decode.too_many_layers`. */
  maxLayers: 16,
  /** Largest capture record accepted: `pcap.record_too_large`. */
  maxRecordBytes: 256 * 1024,

  /** Flows kept at once; the least recently seen is evicted and flushed: `flow.evicted`. */
  maxFlows: 100_000,
  /** Seconds of capture time without a packet before a flow is flushed and dropped. */
  flowIdleSeconds: 120,
  /** Out-of-order bytes buffered per direction: `reassembly.ooo_cap_hit`. */
  maxOutOfOrderBytesPerDir: 1024 * 1024,
  /** Out-of-order bytes buffered across all flows: `reassembly.memcap_hit`. */
  maxOutOfOrderBytesTotal: 256 * 1024 * 1024,
  /** Segments buffered above a hole before the hole is skipped as a gap: `reassembly.hole_skipped`. */
  maxSegmentsAboveHole: 64,
  /** Bytes per direction handed to application parsers; after it only counted: `stream.depth_reached`. */
  streamDepthBytes: 16 * 1024 * 1024,

  /** HTTP request or status line plus headers: `http.header_too_large`. */
  httpMaxHeaderBytes: 64 * 1024,
  /** Header lines per message: `http.too_many_headers`. */
  httpMaxHeaders: 200,
  /** Body bytes kept for inspection, after decoding: `http.body_truncated`. */
  httpBodyInspectBytes: 1024 * 1024,
  /**
   * A body that is only counted (a type no signature reads, or past httpBodyInspectBytes) with at least this many
   * bytes still to come is skipped by the flow table instead of delivered packet by packet (0: never skip).
   */
  httpBodySkipMinBytes: 16 * 1024,
  /** Compressed body bytes fed to a decoder (zip-bomb guard): `http.decompress_cap_hit`. */
  httpDecompressedMaxBytes: 4 * 1024 * 1024,
  /** Requests waiting for their response on one flow: `http.too_many_pending`. */
  httpMaxPendingRequests: 100,
  /** Bytes scanned for the next request/status line after a gap or a bad start line: `http.gap_unrecoverable`, `http.resync_failed`. */
  httpResyncMaxBytes: 64 * 1024,

  /** One SSE event (all its lines): `sse.event_too_large`. */
  sseMaxEventBytes: 1024 * 1024,
  /** One WebSocket message after reassembly of fragments: `ws.message_too_large`. */
  wsMaxMessageBytes: 1024 * 1024,
  /** One NDJSON line: `ndjson.line_too_large`. */
  ndjsonMaxLineBytes: 1024 * 1024,
  /** Bytes of TLS handshake buffered while looking for the ClientHello: `tls.hello_too_large`. */
  tlsMaxHelloBytes: 64 * 1024,
  /** Bytes of a direction looked at before its protocol is decided: `stream.unknown_protocol`. */
  protocolSniffBytes: 8 * 1024,

  /** Live capture: libpcap's kernel ring buffer (`--buffer-size`); when it fills the kernel drops frames, reported as `kernelDropped`. */
  liveKernelBufferBytes: 16 * 1024 * 1024,
  /** Live capture: largest `--buffer-size` accepted (a usage error above it). */
  liveKernelBufferMaxBytes: 1024 * 1024 * 1024,
  /** Live capture: bytes kept per frame. `cap` fixes libpcap's snaplen at 65535, so larger frames (lo's MTU is 65536) arrive cut: `frame.truncated`. */
  liveSnaplenBytes: 65535,

  /** dnsmasq without --log-queries=extra: queried names remembered to tie answers to their client; past it the oldest
   * is dropped: `log.dnsmasq_pending_cap_hit`. */
  logDnsmasqPendingQueries: 4096,
  /** A remembered dnsmasq query older than this is forgotten: well past dnsmasq's 10 s wait for an upstream. */
  logDnsmasqPendingSeconds: 60,
  /** CNAME hops linked in one dnsmasq answer (dnsmasq itself follows fewer): `log.dnsmasq_cname_cap_hit`. */
  logDnsmasqCnameHops: 16,
  /** Windows DNS "Details" mode: lines of one packet's detail block (≈140 answer records); past it the rest of the
   * block is passed over and what was read is kept: `log.windows_dns_detail_cap_hit` (zone transfers print thousands). */
  logWindowsDnsDetailLines: 1000,
  /** One log line: `log.line_too_long`. */
  logMaxLineBytes: 64 * 1024,
  /** Incremental import: content bytes at the start of a log that identify it across renames, copies and gzip. */
  logCursorHeadBytes: 8 * 1024,
  /** Incremental import: bytes before the cursor whose hash must still match for the import to resume there. */
  logCursorTailBytes: 256,

  /** Inventory store: how long a run waits for another run's write transaction (SQLite busy_timeout). */
  storeBusyTimeoutMs: 10 * 60 * 1000,
  /** Inventory store: optimistic attempts before a run takes the write lock for its whole import. */
  storeOptimisticAttempts: 1,
  /** Inventory store: names, clients, source files and signatures kept per inventory row (more are dropped). */
  storeMaxListItems: 64,
  /** Inventory store: characters of a masked DLP value kept (longer masks are cut; they never hold a whole secret). */
  storeMaxMaskedChars: 96,

  /** Body text put into an observation for signatures to read: `detect.body_truncated`. */
  detectBodyTextBytes: 64 * 1024,
  /** Subjects (server endpoints, names) the detector tracks; later ones are dropped: `detect.subjects_cap_hit`. */
  detectMaxSubjects: 50_000,
  /** Flows whose Host/SNI/User-Agent context is remembered (oldest dropped first). */
  detectMaxFlowContexts: 65_536,
  /** DNS answer addresses remembered to name server endpoints (oldest dropped first). */
  detectMaxDnsAddresses: 100_000,
  /** Evidence items kept per signal of a finding. */
  detectEvidencePerSignal: 3,
  /** Clients kept per finding. */
  detectMaxClients: 32,
  /** Names, paths kept per finding. */
  detectMaxNames: 32,
  /** Distinct method and tool names counted per finding: `detect.method_cap_hit`. */
  detectMaxMethods: 128,
  /** Seconds a request waits for its response before it is listed as unanswered (audit trail pairing). */
  auditPairWindowSeconds: 300,
  /** Requests waiting for a response across all sessions; the oldest is listed unanswered: `audit.pending_cap_hit`. */
  auditMaxPending: 20_000,
  /** Sessions and peers (client/server names, SSE session ids) remembered; oldest dropped: `audit.peers_cap_hit`. */
  auditMaxPeers: 65_536,
  /** Characters of an argument summary shown in the audit listing (the whole value is inspected). */
  auditArgsDisplayChars: 160,
  /** Records kept for the audit table (ndjson/csv stream and keep none): `audit.records_cap_hit`. */
  auditMaxTableRecords: 200_000,
  /** Distinct DLP hits kept per finding (more are counted only): `audit.dlp_cap_hit`. */
  auditMaxHitsPerFinding: 64,
  /** Behaviour alerts kept per report: `audit.alerts_cap_hit`. */
  auditMaxAlerts: 1_000,
  /** Keys (client, server, tool) the behaviour windows track at once; oldest dropped: `audit.windows_cap_hit`. */
  auditMaxWindows: 100_000,
  /** Keys (client, server, tool) whose calls per window are learned for tool_call_unusual; the least recently used is
   * dropped, and what this run learned of it is lost: `audit.baseline_keys_cap_hit`. The inventory keeps as many keys,
   * the most recently active (older ones age out there: a key idle that long has no current "usual"). */
  auditBaselineKeys: 50_000,
  /** Busy windows remembered per key, the newest: the usual count is their median (older ones roll off by design). */
  auditBaselineWindows: 32,
  /** Characters of a tool name in a learned key; a longer (hostile) name is cut and its length appended. */
  auditBaselineToolChars: 128,
  /** Characters of text put through the DLP detectors per message: `dlp.scan_cap_hit`. */
  dlpMaxScanChars: 8 * 1024 * 1024,
  /** Findings read by `shadowtap rules`; the rest are skipped: `rules.too_many_findings`. */
  rulesMaxFindings: 100_000,
  /** Host names and paths taken from one finding: `rules.names_capped`, `rules.paths_capped`. */
  rulesMaxNamesPerFinding: 64,
  rulesMaxPathsPerFinding: 16,
  /** Raw value length looked at by a rule validator; longer is refused unread: `rules.value_too_long`. */
  rulesMaxRawValueChars: 1024,
  /** One rule comment (iptables' comment match takes at most 255). */
  rulesCommentMaxChars: 200,
  /** Values written inline in one Cloudflare Gateway expression before a Gateway list is used instead. */
  cloudflareInlineValuesMax: 25,
  /** Entries per Cloudflare Gateway list (Standard plan): chunks beyond go to another list. */
  cloudflareListMaxItems: 1000,
  /** Gateway lists per account: values beyond are refused: `rules.cloudflare_lists_exhausted`. */
  cloudflareMaxLists: 100,
  /** Gateway policies per filter (dns, http, l4) per account: `rules.cloudflare_policies_exhausted`. */
  cloudflareMaxPoliciesPerFilter: 500,
  /** HTML report: findings that get their own rendered rules; the page says how many were left out and how to get them. */
  htmlRulesMaxFindings: 200,
  /** HTML report: timeline rows drawn; the page counts the rows left out under the chart. */
  htmlTimelineMaxRows: 80,
} as const;

export type Limits = { -readonly [K in keyof typeof LIMITS]: number };

export function limits(overrides: Partial<Limits> = {}): Limits {
  return { ...LIMITS, ...overrides };
}
