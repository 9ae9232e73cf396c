/**
 * The unsolicited MWI NOTIFY on real sockets (issue 5): SIP over TLS to a Node TLS server whose certificate (and
 * ours, for mutual TLS) is made in the test by openssl with a test CA; SIP over TCP with 480, connection reuse,
 * a refused connection and a silent gateway.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import pino from 'pino';
import { parseMessageSummary } from '../../src/domain/message-summary';
import { openApp } from '../../src/app';
import { mwiTargetOf } from '../../src/notify/mwi-service';
import { EmbeddedMwiTransport } from '../../src/sip/embedded/mwi-notify-client';
import { loadDirectory } from '../../src/config/load';
import { tempDir, writeConfig } from '../helpers';
import { onTcpMessages, type RawMessage } from './helpers/raw-sip';

const silent = pino({ level: 'silent' });
let dir: string;
let pem: Record<'ca' | 'gwKey' | 'gwCert' | 'vaKey' | 'vaCert', Buffer>;

/** A test CA, a gateway certificate for `localhost`, and a client certificate for voice-access. */
function makeCertificates(d: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=voice-access test CA');
  for (const [name, cn] of [['gw', 'localhost'], ['va', 'voice-access']]) {
    run('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    require('node:fs').writeFileSync(path.join(d, `${name}.ext`), `subjectAltName=DNS:${cn}\n`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  const r = (f: string) => readFileSync(path.join(d, f));
  return { ca: r('ca.pem'), gwKey: r('gw.key'), gwCert: r('gw.pem'), vaKey: r('va.key'), vaCert: r('va.pem') };
}

beforeAll(() => {
  dir = tempDir('va-mwi-tls-');
  pem = makeCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A gateway: frames requests by Content-Length, answers each with `status`, or not at all when null. */
function gatewayOn(server: net.Server, status: number | null, seen: { msg: RawMessage; socket: net.Socket }[], connections: net.Socket[]) {
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    connections.push(socket);
    socket.on('error', () => undefined);
    onTcpMessages(socket, (msg) => {
      seen.push({ msg, socket });
      if (status === null) return;
      const hv = (n: string) => msg.headers.get(n)?.[0] ?? '';
      socket.write(
        `SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Temporarily Unavailable'}\r\nVia: ${hv('via')}\r\nFrom: ${hv('from')}\r\nTo: ${hv('to')};tag=gw1\r\n` +
          `Call-ID: ${hv('call-id')}\r\nCSeq: ${hv('cseq')}\r\nContent-Length: 0\r\n\r\n`,
      );
    });
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

const body = 'Messages-Waiting: yes\r\nMessage-Account: sip:51234@localhost\r\nVoice-Message: 2/1 (0/0)\r\n';

describe('EmbeddedMwiTransport over TLS', () => {
  it('sends the NOTIFY to a gateway whose certificate names it, presenting our certificate (mutual TLS)', async () => {
    const seen: { msg: RawMessage; socket: net.Socket }[] = [];
    const conns: net.Socket[] = [];
    let clientCn: string | undefined;
    const server = tls.createServer({ key: pem.gwKey, cert: pem.gwCert, ca: pem.ca, requestCert: true, rejectUnauthorized: true });
    server.on('secureConnection', (s: tls.TLSSocket) => (clientCn = (s.getPeerCertificate() as { subject?: { CN?: string } }).subject?.CN));
    gatewayOn(server, 200, seen, conns);
    const port = await listen(server);
    const transport = new EmbeddedMwiTransport({ localHost: '127.0.0.1', logger: silent, timeoutMs: 5000, tls: { ca: pem.ca, cert: pem.vaCert, key: pem.vaKey } });
    try {
      const r = await transport.sendNotify({ host: 'localhost', port, transport: 'tls', extension: '51234', body });
      expect(r.status).toBe(200);
      expect(clientCn).toBe('voice-access');
      const m = seen[0].msg;
      expect(m.startLine).toBe(`NOTIFY sip:51234@localhost:${port};transport=tls SIP/2.0`);
      expect(m.headers.get('via')![0]).toMatch(/^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK/);
      expect(m.headers.get('to')![0]).toBe('<sip:51234@localhost>');
      expect(m.headers.get('event')![0]).toBe('message-summary');
      expect(m.headers.get('subscription-state')![0]).toBe('terminated');
      expect(m.headers.get('content-type')![0]).toBe('application/simple-message-summary');
      expect(parseMessageSummary(m.body)).toMatchObject({ messagesWaiting: true, newMessages: 2, oldMessages: 1, account: 'sip:51234@localhost' });
    } finally {
      transport.close();
      server.close();
    }
  });

  it('refuses a gateway whose certificate does not match its address, or is not from the configured CA', async () => {
    const server = tls.createServer({ key: pem.gwKey, cert: pem.gwCert });
    gatewayOn(server, 200, [], []);
    const port = await listen(server);
    const withCa = new EmbeddedMwiTransport({ localHost: '127.0.0.1', logger: silent, timeoutMs: 5000, tls: { ca: pem.ca } });
    const withoutCa = new EmbeddedMwiTransport({ localHost: '127.0.0.1', logger: silent, timeoutMs: 5000 });
    try {
      // the certificate names localhost, not 127.0.0.1
      await expect(withCa.sendNotify({ host: '127.0.0.1', port, transport: 'tls', extension: '51234', body })).rejects.toThrow(/TLS connection to 127\.0\.0\.1.*failed/);
      await expect(withoutCa.sendNotify({ host: 'localhost', port, transport: 'tls', extension: '51234', body })).rejects.toThrow(/certificate/i);
    } finally {
      withCa.close();
      withoutCa.close();
      server.close();
    }
  });
});

describe('EmbeddedMwiTransport over TCP', () => {
  it('returns the final status (480 is a status, not an exception) and reuses one connection', async () => {
    const seen: { msg: RawMessage; socket: net.Socket }[] = [];
    const conns: net.Socket[] = [];
    const server = net.createServer();
    gatewayOn(server, 480, seen, conns);
    const port = await listen(server);
    const transport = new EmbeddedMwiTransport({ localHost: '127.0.0.1', logger: silent, timeoutMs: 5000 });
    try {
      const a = await transport.sendNotify({ host: '127.0.0.1', port, transport: 'tcp', extension: '51234', body });
      const b = await transport.sendNotify({ host: '127.0.0.1', port, transport: 'tcp', extension: '51235', body });
      expect([a.status, b.status]).toEqual([480, 480]);
      expect(conns).toHaveLength(1);
      expect(seen.map((s) => s.msg.headers.get('via')![0])).toEqual([expect.stringMatching(/^SIP\/2\.0\/TCP /), expect.stringMatching(/^SIP\/2\.0\/TCP /)]);
      // the gateway closes the connection: the next NOTIFY opens a new one
      conns[0].destroy();
      await new Promise((r) => setTimeout(r, 100));
      await transport.sendNotify({ host: '127.0.0.1', port, transport: 'tcp', extension: '51234', body });
      expect(conns).toHaveLength(2);
    } finally {
      transport.close();
      server.close();
    }
  });

  it('throws for a refused connection and for a gateway that never answers', async () => {
    const closed = net.createServer();
    const refusedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const silentServer = net.createServer();
    gatewayOn(silentServer, null, [], []);
    const silentPort = await listen(silentServer);
    const transport = new EmbeddedMwiTransport({ localHost: '127.0.0.1', logger: silent, timeoutMs: 300 });
    try {
      await expect(transport.sendNotify({ host: '127.0.0.1', port: refusedPort, transport: 'tcp', extension: '1', body })).rejects.toThrow(/ECONNREFUSED/);
      await expect(transport.sendNotify({ host: '127.0.0.1', port: silentPort, transport: 'tcp', extension: '1', body })).rejects.toThrow(/no final response .* within 300 ms/);
    } finally {
      transport.close();
      silentServer.close();
    }
  });
});

describe('which gateways and transport a mailbox gets', () => {
  it('TLS for a SIPSecured dial plan, named gateways only; TCP for Unsecured; Enabled gateways that allow MWI, in order', async () => {
    const d = tempDir('va-mwi-target-');
    const config = writeConfig(d, (doc) => {
      doc.dialPlans[0].voipSecurity = 'SIPSecured';
      doc.gateways = [
        { name: 'pbx-a', address: 'localhost', port: 5061, dialPlan: doc.dialPlans[0].name },
        { name: 'pbx-b', address: 'pbx-b.contoso.com', port: 5061, dialPlan: doc.dialPlans[0].name, status: 'Disabled' },
        { name: 'pbx-c', address: 'pbx-c.contoso.com', port: 5061, dialPlan: doc.dialPlans[0].name, messageWaitingIndicatorAllowed: false },
        { name: 'pbx-d', address: 'pbx-d.contoso.com', port: 5061, dialPlan: doc.dialPlans[0].name },
        { name: 'paris', address: '127.0.0.1', dialPlan: 'Contoso-Paris' },
      ];
    });
    const app = await openApp({ config, data: path.join(d, 'data') });
    try {
      const tony = (await mwiTargetOf(app.store, 'tony@contoso.com'))!;
      expect(tony.gateways).toEqual([
        { gateway: 'pbx-a', host: 'localhost', port: 5061, transport: 'tls' },
        { gateway: 'pbx-d', host: 'pbx-d.contoso.com', port: 5061, transport: 'tls' },
      ]);
      const claire = (await mwiTargetOf(app.store, 'claire@contoso.com'))!;
      expect(claire.gateways).toEqual([{ gateway: 'paris', host: '127.0.0.1', port: 5060, transport: 'tcp' }]);
    } finally {
      app.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('a SIPSecured dial plan with a gateway given as an IP address is a configuration error naming the key', () => {
    const d = tempDir('va-mwi-target-');
    const config = writeConfig(d, (doc) => (doc.dialPlans[0].voipSecurity = 'Secured'));
    try {
      expect(() => loadDirectory(config)).toThrow(/gateways\[0\]\.address: must be a host name/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
