// Bodies of a media type no signature reads are counted, not kept, unless they open JSON.
import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../messages.js';
import { byteByByte, dec, runHttp, whole } from '../../../test/support/http.js';

function response(type: string, body: string) {
  const req = 'GET /f HTTP/1.1\r\nHost: a\r\n\r\n';
  const res = `HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return [{ dir: 'c2s' as const, data: req }, { dir: 's2c' as const, data: res }];
}

const responses = (r: ReturnType<typeof runHttp>) => r.messages.filter((m): m is HttpResponse => m.kind === 'http.response');

describe('HTTP body inspection by media type', () => {
  for (const split of [whole, byteByByte]) {
    it(`counts a binary body without keeping it (${split === whole ? 'whole' : 'byte by byte'})`, () => {
      const [res] = responses(runHttp(response('application/octet-stream', 'ZZZZ'.repeat(500)), split));
      expect(res.bodyLength).toBe(2000);
      expect(res.body.length).toBe(0);
    });

    it(`keeps JSON relabelled as a binary type (${split === whole ? 'whole' : 'byte by byte'})`, () => {
      const json = '  {"jsonrpc":"2.0","id":1,"method":"tools/call"}';
      const [res] = responses(runHttp(response('application/octet-stream', json), split));
      expect(dec(res.body)).toBe(json);
    });
  }

  it('keeps JSON and text bodies', () => {
    for (const type of ['application/json', 'text/plain', 'application/problem+json']) {
      const [res] = responses(runHttp(response(type, 'Bad Request: x')));
      expect(dec(res.body)).toBe('Bad Request: x');
    }
  });
});
