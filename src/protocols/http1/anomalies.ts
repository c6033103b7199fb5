// Every anomaly name the HTTP/1.1, SSE and WebSocket parsers count, with what it means.
// Counted through ParserContext.anomalies with {file, frame, flow}.

export const HTTP_ANOMALIES = {
  'http.bad_request_line': 'request line is not `METHOD SP target SP HTTP/x.y`; resync at the next request line',
  'http.bad_status_line': 'status line is not `HTTP/x.y SP 3-digit-status [SP reason]`; resync at the next status line',
  'http.bad_header_line': 'header line without a colon, with an invalid name or whitespace before the colon; line ignored',
  'http.obs_fold': 'obsolete line folding in a header value (tolerated: joined with one space)',
  'http.header_too_large': 'start line plus headers exceed LIMITS.httpMaxHeaderBytes; direction abandoned',
  'http.too_many_headers': 'more than LIMITS.httpMaxHeaders header lines; the rest are not kept (framing headers still read)',
  'http.bad_content_length': 'Content-Length is not a decimal number or has conflicting values',
  'http.content_length_and_chunked': 'both Content-Length and Transfer-Encoding: chunked; chunked wins (request smuggling sign)',
  'http.bad_transfer_encoding': 'request Transfer-Encoding whose last coding is not chunked; body length unknown',
  'http.bad_chunk_size': 'chunk size line is not hex digits (or is too large)',
  'http.bad_chunk_end': 'chunk data not followed by CRLF',
  'http.chunk_trailer_too_large': 'chunked trailer section exceeds LIMITS.httpMaxHeaderBytes',
  'http.body_truncated': 'decoded body longer than LIMITS.httpBodyInspectBytes (or cut by a gap); the rest is only counted',
  'http.body_gap': 'bytes of a body were lost in capture (StreamChunk.gapBefore) and are missing from it',
  'http.message_incomplete': 'the stream ended inside a message body; emitted with what was seen',
  'http.head_incomplete': 'the stream ended inside a request/status line or headers; dropped',
  'http.gap_unrecoverable': 'after a gap no request/status line was found within LIMITS.httpResyncMaxBytes; direction abandoned',
  'http.resync_failed': 'after a bad start line no request/status line was found within LIMITS.httpResyncMaxBytes; direction abandoned',
  'http.too_many_pending': 'more than LIMITS.httpMaxPendingRequests requests waiting for responses; the oldest is dropped',
  'http.response_without_request': 'a final response arrived with no pending request to pair it with',
  'http.upgrade_wait_overflow': 'too many client bytes buffered while waiting for the answer to an Upgrade/CONNECT request',
  'http.unknown_content_encoding': 'Content-Encoding other than gzip, x-gzip, deflate, br, identity; body kept encoded',
  'http.decompress_error': 'the compressed body is corrupt; the decoded prefix is kept',
  'http.decompress_cap_hit': 'decoded output exceeded LIMITS.httpDecompressedMaxBytes (zip-bomb guard); decoding stopped',
  'http.internal_error': 'a parser bug was caught; the direction is abandoned',

  'sse.event_too_large': 'one SSE event exceeded LIMITS.sseMaxEventBytes; the event is dropped',

  'ws.bad_frame': 'WebSocket frame with a reserved opcode or bits, a bad control frame, or broken fragmentation; direction abandoned',
  'ws.message_too_large': 'WebSocket message exceeded LIMITS.wsMaxMessageBytes after reassembly (or inflation); dropped',
  'ws.binary_message': 'binary WebSocket message: counted, not inspected',
  'ws.compressed_not_negotiated': 'RSV1 (compressed) message although permessage-deflate was not negotiated; dropped',
  'ws.inflate_error': 'permessage-deflate message failed to inflate; dropped',
  'ws.gap': 'bytes of a WebSocket stream were lost; frame boundaries are gone, direction abandoned',
} as const;

export type HttpAnomalyName = keyof typeof HTTP_ANOMALIES;
