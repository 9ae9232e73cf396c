/**
 * A Prometheus scrape while SIPp calls run (issue 21, "Done when"): `serve --http` on 127.0.0.1, five SIPp calls to
 * the access number held 6 s each (the built-in `uac` scenario with `-d`), `/metrics` read with a View-Only key
 * while they are up and after: calls in progress by flow while they run, calls ended by flow and result after, the
 * RTP tick lateness histogram fed; no label value carries a caller's number; the scrape needs a key.
 */
import { findCmdlet } from '../../src/admin/cmdlets';
import { metricSample } from '../helpers/metrics-text';
import { runSipp } from '../sip/helpers/sipp';
import { startIvrServer, type IvrServer } from './helpers/ivr-server';

jest.setTimeout(60_000);

let t: IvrServer;
let key: string;
let base: string;

beforeAll(async () => {
  t = await startIvrServer({ http: '127.0.0.1:0' });
  base = t.server.http!.url;
  const [out] = await findCmdlet('New-VaApiKey')!.run(t.server.app, { Name: 'prometheus', Role: 'View-Only' });
  key = out.Key as string;
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const scrape = async () => {
  const r = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
  return r.text();
};

test('while five SIPp calls hear the sign-in prompts, the scrape shows them in progress; after, ended by flow and result', async () => {
  expect((await fetch(`${base}/metrics`)).status).toBe(401);
  const before = await scrape();
  const endedBefore = metricSample(before, 'va_calls_ended_total', { flow: 'sign-in' });
  const run = runSipp({ scenario: { builtin: 'uac' }, target: t.target, service: '14255550100', calls: 5, rate: 10, extra: ['-d', '6000'], timeoutS: 30 });
  let during = '';
  let most = 0;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && most < 5) {
    during = await scrape();
    most = Math.max(most, metricSample(during, 'va_calls_in_progress', { flow: 'sign-in' }));
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(most).toBe(5);
  const sipp = await run;
  expect({ successful: sipp.successful, failed: sipp.failed }).toEqual({ successful: 5, failed: 0 });
  await t.until(() => t.calls.length === 5 && t.calls.every((c) => c.record !== null), 10_000, 'the five calls to end');
  const after = await scrape();
  expect(metricSample(after, 'va_calls_in_progress', { flow: 'sign-in' })).toBe(0);
  // SIPp hangs up during the sign-in: each call ends as the flow records a caller who left.
  const results = [...new Set(t.calls.map((c) => c.record!.result))];
  const ended = results.reduce((n, result) => n + metricSample(after, 'va_calls_ended_total', { flow: 'sign-in', result }), 0);
  expect(ended - endedBefore).toBe(5);
  expect(metricSample(after, 'va_rtp_tick_lateness_seconds_count')).toBeGreaterThan(0);
  // No label carries a number of four digits or more (a caller's number, an extension typed, a PIN).
  const labelValues = [...during.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1].matchAll(/(\w+)="([^"]*)"/g)].filter((l) => !['le', 'quantile', 'version'].includes(l[1])).map((l) => l[2]));
  expect(labelValues.filter((v) => /\d{4,}/.test(v))).toEqual([]);
});
