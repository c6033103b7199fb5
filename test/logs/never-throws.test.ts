// Every format's parser turns arbitrary text into observations, [] or undefined: never an exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { LOG_FORMATS } from '../../src/sources/logs/index.js';

const pieces = ['IN= OUT=lo ', 'SRC=', 'DST=', 'PROTO=TCP ', '{"', '":', '"event_type":"dns"', 'query[A] ', ' from ', '#fields\t',
  'client @0x1 ', '#', 'filterlog[1]: ', ',', 'block,in,4,', '(3)', 'PACKET ', ' is ', 'unbound[1:0] info: ', '::', '1.2.3.4', '\t'];

describe('parsers never throw', () => {
  for (const format of LOG_FORMATS) {
    it(format.id, () => {
      const anomalies = new Anomalies();
      const ctx = { file: 'x', anomalies, refYear: 2026, refTime: 0, map: 'ts=a,src=b,dst=c,host=d', notice: anomalies.add.bind(anomalies) };
      const parser = format.parser(ctx);
      fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom(...pieces)), { maxLength: 12 }), (parts) => {
        const line = parts.join('');
        const res = parser.line(line, 1);
        expect(res === undefined || Array.isArray(res)).toBe(true);
        format.sniff([line]);
      }), { numRuns: 300 });
    });
  }
});
