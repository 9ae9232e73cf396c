/**
 * `voice-access export-sipp FILE.yaml --out DIR` (issue 22, "Other testers' needs"): writes a SIPp XML scenario per
 * call of a scenario file that places the same call against a running server, waiting for the IVR's prompts by
 * their events (`X-VA-Test-Events: prompts`, docs/calling.md "Prompt events for SIP test tools") instead of fixed
 * pauses, so the server must list SIPp's address under `testing.eventsAllowedFrom`.
 *
 * Steps, as SIPp does them:
 * - `expectPrompt: ID` (`within`): event INFOs are answered 200 until one names the prompt (`"prompt":"ID"`): a
 *   loop of `recv INFO` + `ereg` with `next`/`test`, each `recv` bounded by `within`;
 * - `dtmf`: RFC 4733 events by SIPp's `play_dtmf` (its RTP stream); with `via: info`, one `INFO`
 *   (`application/dtmf-relay`) per key; in-band keys and DTMF faults are not SIPp's and are refused;
 * - `speak`: speech-like noise or a pure tone (`toneHz`), written next to the XML as raw PCMU and sent with
 *   `rtp_stream`, for as long as the step says; `wait`, `expectRecording` (the beep's event, then its 400 ms) and
 *   `expectInMeeting` (`conf-joining`'s event, then its length);
 * - `hangup`: BYE; `expectHangup`: the IVR's BYE, answered;
 * - while SIPp waits (`wait`, `speak`), an event INFO that comes is answered, so nothing arrives unexpected.
 * `expectTone`/`expectNoTone` (SIPp does not analyse what it hears) are refused; `admin:` actions and `expect:`
 * checks are written into the file as comments, not done: the server's log and the cmdlets check those.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { sineTone } from '../media/conference-tones';
import { encodeG711 } from '../media/g711';
import { ErrorCodes, VaError } from '../errors';
import { xmlEscape } from '../util/xml-text';
import { loadScenario, type ScenarioCall, type Step } from './scenario';
import { fillSpeechNoise } from './speech-noise';
import { PromptCatalog } from '../prompts/catalog';

/** How long the beep before a recording lasts (`prompts/tones/beep.wav`), ms: recording starts after it. */
const BEEP_MS = 400;
/** SIPp's RFC 4733 payload type in its offer (SIPp 3.6 sends telephone-event with it). */
const TELEPHONE_EVENT_PT = 101;

/** One written SIPp scenario. */
export interface ExportedCall {
  /** The call's id in the scenario file. */
  call: string;
  /** The XML file written. */
  file: string;
  /** The audio files it streams (raw PCMU), next to it. */
  audio: string[];
  /** The SIPp command line that runs it against `HOST:PORT` (SIPp's own address from `-i`). */
  command: string;
  /** Offset of the call in the scenario (ms): start it that long after the first. */
  startMs: number;
}

/** Why a step cannot be done by SIPp. */
export class ExportError extends VaError {
  constructor(message: string) {
    super(ErrorCodes.SIM_SCENARIO_INVALID, message);
    this.name = 'ExportError';
  }
}

const xmlText = xmlEscape;
/** A comment's text: `--` may not occur inside an XML comment. */
const comment = (s: string) => `<!-- ${s.replace(/--/g, '- -')} -->`;

/** An INFO event's `"prompt":"ID"` as a POSIX extended regexp in an XML attribute. */
function promptRegexp(id: string): string {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return xmlText(`"prompt":"${escaped}"`);
}

/** A raw PCMU buffer (8 kHz) of the simulated callers' voice, `ms` long ({@link fillSpeechNoise}). */
export function speechPcmu(ms: number): Uint8Array {
  const pcm = new Int16Array(Math.round(ms * 8));
  fillSpeechNoise(pcm);
  return encodeG711(pcm, 0);
}

/** Builds the XML of one call; collects the audio files it needs. */
class SippWriter {
  private readonly lines: string[] = [];
  private cseq = 1;
  private label = 0;
  readonly audio = new Map<string, Uint8Array>();

  constructor(private readonly call: ScenarioCall) {}

  private from(): string {
    return this.call.from === null ? '"Anonymous" <sip:anonymous@anonymous.invalid>' : `<sip:${this.call.from}@[local_ip]:[local_port]>`;
  }

  private inDialog(method: string, extra: string[] = [], body?: string): string {
    const cseq = ++this.cseq;
    return [
      `  <send retrans="500">`,
      '    <![CDATA[',
      '',
      `      ${method} sip:${this.call.to}@[remote_ip]:[remote_port] SIP/2.0`,
      '      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
      `      From: ${this.from()};tag=[pid]SIPpTag00[call_number]`,
      `      To: <sip:${this.call.to}@[remote_ip]:[remote_port]>[peer_tag_param]`,
      '      Call-ID: [call_id]',
      `      CSeq: ${cseq} ${method}`,
      '      Max-Forwards: 70',
      ...extra.map((h) => `      ${h}`),
      '      Content-Length: [len]',
      '',
      ...(body === undefined ? [] : body.split('\n').map((l) => `      ${l}`)),
      '    ]]>',
      '  </send>',
    ].join('\n');
  }

  /** The 200 to the request just received (an event INFO or the IVR's BYE). */
  private ok(attrs = ''): string {
    return [
      `  <send${attrs}>`,
      '    <![CDATA[',
      '',
      '      SIP/2.0 200 OK',
      '      [last_Via:]',
      '      [last_From:]',
      '      [last_To:]',
      '      [last_Call-ID:]',
      '      [last_CSeq:]',
      '      Content-Length: 0',
      '',
      '    ]]>',
      '  </send>',
    ].join('\n');
  }

  private next(prefix: string): string {
    return `${prefix}${++this.label}`;
  }

  /** Event INFOs are answered for `ms` (each wait restarts at an INFO: at least `ms` in all). */
  private idle(ms: number): void {
    if (ms <= 0) return;
    const loop = this.next('idle');
    const done = this.next('idle_done');
    this.lines.push(`  <label id="${loop}"/>`, `  <recv request="INFO" timeout="${Math.round(ms)}" ontimeout="${done}"/>`, this.ok(` next="${loop}"`), `  <label id="${done}"/>`);
  }

  private invite(): void {
    const headers = [
      `      From: ${this.from()};tag=[pid]SIPpTag00[call_number]`,
      `      To: <sip:${this.call.to}@[remote_ip]:[remote_port]>`,
      '      Call-ID: [call_id]',
      '      CSeq: 1 INVITE',
      '      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>',
      '      Max-Forwards: 70',
      ...(this.call.diversion ? [`      Diversion: <sip:${this.call.diversion}@[remote_ip]>;reason=no-answer`] : []),
      '      X-VA-Test-Events: prompts',
      '      Content-Type: application/sdp',
      '      Content-Length: [len]',
    ];
    this.lines.push(
      '  <send retrans="500">',
      '    <![CDATA[',
      '',
      `      INVITE sip:${this.call.to}@[remote_ip]:[remote_port] SIP/2.0`,
      '      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
      ...headers,
      '',
      '      v=0',
      '      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]',
      '      s=-',
      '      c=IN IP[media_ip_type] [media_ip]',
      '      t=0 0',
      `      m=audio [media_port] RTP/AVP 0 ${TELEPHONE_EVENT_PT}`,
      '      a=rtpmap:0 PCMU/8000',
      `      a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`,
      `      a=fmtp:${TELEPHONE_EVENT_PT} 0-15`,
      '      a=ptime:20',
      '',
      '    ]]>',
      '  </send>',
      '  <recv response="100" optional="true"/>',
      '  <recv response="180" optional="true"/>',
      '  <recv response="183" optional="true"/>',
      '  <recv response="200" rtd="true"/>',
      '  <send>',
      '    <![CDATA[',
      '',
      `      ACK sip:${this.call.to}@[remote_ip]:[remote_port] SIP/2.0`,
      '      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
      `      From: ${this.from()};tag=[pid]SIPpTag00[call_number]`,
      `      To: <sip:${this.call.to}@[remote_ip]:[remote_port]>[peer_tag_param]`,
      '      Call-ID: [call_id]',
      '      CSeq: 1 ACK',
      '      Max-Forwards: 70',
      '      Content-Length: 0',
      '',
      '    ]]>',
      '  </send>',
    );
  }

  private expectPrompt(id: string, withinMs: number): void {
    const loop = this.next('prompt');
    const heard = this.next('heard');
    const found = `found${this.label}`;
    this.lines.push(
      `  <label id="${loop}"/>`,
      `  <recv request="INFO" timeout="${withinMs}">`,
      '    <action>',
      `      <ereg regexp="${promptRegexp(id)}" search_in="body" check_it="false" assign_to="${found}"/>`,
      '    </action>',
      '  </recv>',
      this.ok(` next="${heard}" test="${found}"`),
      `  <nop next="${loop}"/>`,
      `  <label id="${heard}"/>`,
    );
  }

  private dtmf(step: Extract<Step, { kind: 'dtmf' }>): void {
    if (step.signal?.faults?.length) throw new ExportError(`${step.label}: DTMF faults cannot be sent by SIPp`);
    if (step.via === 'inband') throw new ExportError(`${step.label}: in-band keys cannot be sent by SIPp here (use via: rfc4733 or info)`);
    if (step.via === 'info') {
      [...step.digits].forEach((d, i) => {
        if (i > 0) this.lines.push(`  <pause milliseconds="${step.gapMs}"/>`);
        this.lines.push(this.inDialog('INFO', ['Content-Type: application/dtmf-relay'], `Signal=${d}\nDuration=160`), '  <recv response="200"/>');
      });
      return;
    }
    // SIPp plays the events on its RTP stream while the scenario goes on; the keys take about (n x 250 ms).
    this.lines.push(`  <nop><action><exec play_dtmf="${xmlText(step.digits)}"/></action></nop>`);
    this.idle(step.digits.length * 250);
  }

  private speak(step: Extract<Step, { kind: 'speak' }>): void {
    const name = step.toneHz ? `tone-${step.toneHz}hz-${step.ms}ms.ulaw` : `speech-${step.ms}ms.ulaw`;
    if (!this.audio.has(name)) this.audio.set(name, step.toneHz ? encodeG711(sineTone(step.toneHz, step.ms), 0) : speechPcmu(step.ms));
    this.lines.push(`  <nop><action><exec rtp_stream="${name},1,0"/></action></nop>`);
    this.idle(step.ms + 100);
  }

  /** The whole scenario XML. @throws ExportError for a step SIPp cannot do */
  build(scenarioName: string, source: string, admin: string[], checks: string[]): string {
    this.invite();
    let byeSeen = false;
    for (const step of this.call.steps) {
      this.lines.push(`  ${comment(step.label)}`);
      switch (step.kind) {
        case 'expectPrompt':
          this.expectPrompt(step.id, step.withinMs);
          break;
        case 'expectRecording':
          this.expectPrompt('tone:beep', step.withinMs);
          this.idle(BEEP_MS);
          break;
        case 'expectInMeeting':
          // The bridge takes the caller in when conf-joining has played: its event, then its length.
          this.expectPrompt('conf-joining', step.withinMs);
          this.idle(PromptCatalog.durationOf(PromptCatalog.load().render(['conf-joining'], 'en-US')) + 200);
          break;
        case 'dtmf':
          this.dtmf(step);
          break;
        case 'wait':
          this.idle(step.ms);
          break;
        case 'speak':
          this.speak(step);
          break;
        case 'hangup':
          this.lines.push(this.inDialog('BYE'), '  <recv response="200" crlf="true"/>');
          byeSeen = true;
          break;
        case 'expectHangup': {
          const loop = this.next('hangup');
          const info = this.next('hangup_info');
          const done = this.next('hangup_done');
          this.lines.push(
            `  <label id="${loop}"/>`,
            `  <recv request="INFO" optional="true" next="${info}"/>`,
            `  <recv request="BYE" timeout="${step.withinMs}"/>`,
            this.ok(` next="${done}"`),
            `  <label id="${info}"/>`,
            this.ok(` next="${loop}"`),
            `  <label id="${done}"/>`,
          );
          byeSeen = true;
          break;
        }
        case 'expectTone':
        case 'expectNoTone':
          throw new ExportError(`${step.label}: SIPp does not analyse the audio it hears; leave tone checks to voice-access simulate`);
      }
      if (byeSeen) break;
    }
    // The steps ran out with the call up: the caller hangs up, as the simulator's caller does.
    if (!byeSeen) this.lines.push('  <!-- the steps ran out: the caller hangs up -->', this.inDialog('BYE'), '  <recv response="200" crlf="true"/>');
    const notes = [
      ...admin.map((a) => `not done by SIPp (an administrator's action): ${a}`),
      ...checks.map((c) => `not checked by SIPp (check it in the server's log or with the cmdlets): ${c}`),
    ];
    return [
      '<?xml version="1.0" encoding="ISO-8859-1" ?>',
      '<!DOCTYPE scenario SYSTEM "sipp.dtd">',
      comment(`Written by voice-access export-sipp from ${source}, call "${this.call.id}". It waits for the IVR's prompts by their events (X-VA-Test-Events: prompts): the server must list SIPp's address under testing.eventsAllowedFrom.`),
      ...notes.map((n) => comment(n)),
      `<scenario name="${xmlText(`${scenarioName}: ${this.call.id}`)}">`,
      ...this.lines,
      '  <ResponseTimeRepartition value="100, 500, 1000"/>',
      '</scenario>',
      '',
    ].join('\n');
  }
}

/**
 * Writes one SIPp scenario per call of a scenario file (a `repeat`ed call once), and the audio its `speak` steps
 * stream, into `outDir` (created when missing).
 * @param target `HOST:PORT` for the command lines printed (the files do not depend on it)
 * @returns what was written, in the scenario's order of calls
 * @throws ScenarioError (the file is not a valid scenario); ExportError (a step SIPp cannot do: named)
 */
export function exportSipp(scenarioFile: string, outDir: string, target = '127.0.0.1:5060'): ExportedCall[] {
  const scenario = loadScenario(scenarioFile);
  const calls = scenario.calls.filter((c, i, all) => !c.template || all.findIndex((o) => o.template === c.template) === i);
  const base = path.basename(scenarioFile).replace(/\.ya?ml$/i, '');
  const admin = scenario.admin.map((a) => `${a.label} at ${a.atMs / 1000} s`);
  const checks = scenario.expect.map((e) => JSON.stringify(e));
  const written: { call: ScenarioCall; xml: string; audio: Map<string, Uint8Array> }[] = [];
  for (const call of calls) {
    const w = new SippWriter(call);
    written.push({ call, xml: w.build(scenario.name, path.basename(scenarioFile), admin, checks), audio: w.audio });
  }
  mkdirSync(outDir, { recursive: true });
  return written.map(({ call, xml, audio }) => {
    const id = (call.template ?? call.id).replace(/[^A-Za-z0-9_.-]/g, '_');
    const file = path.join(outDir, calls.length === 1 ? `${base}.xml` : `${base}-${id}.xml`);
    writeFileSync(file, xml);
    for (const [name, bytes] of audio) writeFileSync(path.join(outDir, name), bytes);
    const count = call.template ? scenario.calls.filter((c) => c.template === call.template).length : 1;
    return {
      call: call.template ?? call.id,
      file,
      audio: [...audio.keys()].map((n) => path.join(outDir, n)),
      command: `sipp -sf ${path.basename(file)} -m ${count} -i 127.0.0.1 -nostdin ${target}`,
      startMs: call.startMs,
    };
  });
}
