/**
 * A bare UAS on the `sip` package: 200 to INVITE (with a fixed SDP answer) and to BYE, nothing else — no dialogs,
 * no 2xx retransmission, no media. It is the benchmark's reference for the stack's own ceiling (issue 4, "Benchmark":
 * our server should reach at least half of this call rate). It lives here because only `src/sip/embedded/` may
 * import the `sip` package.
 */
import { randomBytes } from 'node:crypto';
import { sipPackage, type SipStack } from './sip-package';

/** A running bare UAS. */
export interface BareUas {
  readonly calls: number;
  stop(): void;
}

/**
 * Starts the bare UAS on UDP.
 * @param address IP to bind; @param port a free port (the package turns 0 into 5060: pass a real one)
 */
export function startBareUas(address: string, port: number): BareUas {
  const sip = sipPackage();
  let calls = 0;
  const sdp = ['v=0', `o=bare 1 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
  const stack: SipStack = sip.create({ address, port, udp: true, tcp: false }, (rq) => {
    if (rq.method === 'INVITE') {
      calls++;
      const rs = sip.makeResponse(rq, 200, 'OK', { headers: { 'content-type': 'application/sdp', contact: [{ uri: `sip:bare@${address}:${port}` }] }, content: sdp });
      (rs.headers.to as { params: Record<string, string> }).params.tag = randomBytes(4).toString('hex');
      stack.send(rs);
    } else if (rq.method === 'BYE' || rq.method === 'OPTIONS') {
      stack.send(sip.makeResponse(rq, 200, 'OK'));
    }
  });
  return {
    get calls() {
      return calls;
    },
    stop: () => stack.destroy(),
  };
}
