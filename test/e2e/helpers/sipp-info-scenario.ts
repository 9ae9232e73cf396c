/**
 * SIPp scenarios that type keys as SIP INFO (`application/dtmf-relay`, `Signal=` / `Duration=160`), written for the
 * keys a test chooses at run time (a PIN set from a web page, say). The shape is test/e2e/sipp/signin-info-david.xml's:
 * SIPp's default offer (PCMU only), the keys 400 ms apart, groups of keys separated by a pause, then the IVR ends the
 * call with BYE.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** A group of keys typed 400 ms apart, then a pause (ms) before the next group. */
export interface KeyGroup {
  keys: string;
  pauseAfterMs: number;
}

const info = (cseq: number, key: string) => `
  <send retrans="500">
    <![CDATA[

      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq} INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=${key}
      Duration=160

    ]]>
  </send>
  <recv response="200"/>`;

/**
 * The scenario XML: INVITE, ACK, 300 ms, each group of keys, then wait for the IVR's BYE (20 s) and answer it.
 * @throws Error on a key that is not 0-9, *, #
 */
export function infoKeysScenario(title: string, groups: readonly KeyGroup[]): string {
  let cseq = 2;
  const steps = groups
    .map((g) => {
      const keys = [...g.keys].map((k) => {
        if (!/^[0-9*#]$/.test(k)) throw new Error(`not a DTMF key: ${k}`);
        return info(cseq++, k);
      });
      return `${keys.join('\n  <pause milliseconds="400"/>')}\n  <pause milliseconds="${g.pauseAfterMs}"/>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="${title.replace(/[<>&"]/g, '')}">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>

  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>

  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>

  <pause milliseconds="300"/>
${steps}

  <recv request="BYE" timeout="20000"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
`;
}

/** Writes {@link infoKeysScenario} to `dir/name.xml`. @returns the file's path */
export function writeInfoKeysScenario(dir: string, name: string, groups: readonly KeyGroup[]): string {
  const file = path.join(dir, `${name}.xml`);
  writeFileSync(file, infoKeysScenario(name, groups));
  return file;
}
