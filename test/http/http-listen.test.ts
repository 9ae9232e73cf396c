/**
 * Where the HTTP API listens: `--http HOST:PORT` (startServer's `http`), the directory file's `http.listen`, `--no-http`
 * (`http: false`); a bad address or a port in use stops `serve` from starting, with its code.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { runServeCli, startServer } from '../../src/cli/serve';
import { parseListen } from '../../src/http/server';
import { createLogger } from '../../src/log';
import { captureIo, tempDir, writeConfig } from '../helpers';

const quiet = createLogger({ level: 'silent' });

function serve(opts: { http?: string | false; listen?: string }) {
  const dir = tempDir('va-http-listen-');
  const config = writeConfig(dir, (doc) => {
    if (opts.listen !== undefined) doc.http = { listen: opts.listen };
  });
  return startServer({ config, data: path.join(dir, 'data'), sipHost: '127.0.0.1', sipPort: 0, rtpPortMin: 0, rtpPortMax: 0, logger: quiet, http: opts.http });
}

test('HOST:PORT, IPv6 in brackets; anything else is VA_ERR_CLI_PARAMETER', () => {
  expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
  expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
  for (const bad of ['127.0.0.1', ':8080', '127.0.0.1:99999', 'a b:1']) expect(() => parseListen(bad)).toThrow(expect.objectContaining({ code: 'VA_ERR_CLI_PARAMETER' }));
});

test("the directory's http.listen starts it; http: false (--no-http) keeps it off; none by default", async () => {
  const fromFile = await serve({ listen: '127.0.0.1:0' });
  try {
    expect(fromFile.http?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${fromFile.http!.url}/status`)).status).toBe(200);
  } finally {
    await fromFile.stop();
  }
  const off = await serve({ listen: '127.0.0.1:0', http: false });
  expect(off.http).toBeUndefined();
  await off.stop();
  const none = await serve({});
  expect(none.http).toBeUndefined();
  await none.stop();
}, 30_000);

test('a port in use: VA_ERR_HTTP, and nothing is left running', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await expect(serve({ http: `127.0.0.1:${port}` })).rejects.toMatchObject({ code: 'VA_ERR_HTTP' });
    await expect(serve({ http: 'nowhere' })).rejects.toMatchObject({ code: 'VA_ERR_CLI_PARAMETER' });
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
}, 30_000);

test('serve --http: listed in --help with --no-http; a bad address is exit status 2, before anything starts', async () => {
  let io = captureIo();
  expect(await runServeCli(['--help'], io)).toBe(0);
  expect(io.stdout).toMatch(/--http \[host:port\][\s\S]*127\.0\.0\.1:8080/);
  expect(io.stdout).toContain('--no-http');
  const dir = tempDir('va-http-cli-');
  io = captureIo();
  const args = ['--config', writeConfig(dir), '--data', path.join(dir, 'data'), '--sip-port', '0', '--rtp-ports', '40200-40300', '--log-level', 'silent'];
  expect(await runServeCli([...args, '--http', 'nowhere'], io)).toBe(2);
  expect(io.stderr).toMatch(/option '--http \[host:port\]' argument 'nowhere' is invalid. must be HOST:PORT/);
}, 30_000);
