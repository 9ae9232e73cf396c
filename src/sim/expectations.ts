/**
 * The expectations of a scenario (`expect:` entries): call results, mailbox state (PIN status, voice messages,
 * greeting and name), mails, texts (SMS), missed calls and MWI NOTIFYs, checked after the calls by
 * {@link checkExpectations}. Both runners use it: the in-process runner (`runner.ts`) hands it the store, the
 * captured mails and texts and the simulated gateways; the network runner (`net/net-runner.ts`) what the network
 * and the server's data folder can tell, and says why for what it cannot (the expectation then fails, or is
 * skipped with a note). The root README ("Scenario files") documents each expectation's keys.
 */
import type { Store } from '../ports/store';
import type { CallRecord } from '../runtime/call-runtime';
import type { Expectation, Scenario, ScenarioCall } from './scenario';
import type { SimMwiGateways } from './sim-mwi';

/** A mail sent during the run (its body is not kept in the report: a PIN-reset mail carries a PIN). */
export interface SentMail {
  /** Virtual ms since the scenario started. */
  at: number;
  to: string;
  subject: string;
}

/** A mail as the expectations see it. */
export interface CapturedMail extends SentMail {
  text: string;
}

/** A text the SMS provider accepted during the run (voice-mail notices hold no secret: the text is kept). */
export interface SentSms {
  /** Virtual ms since the scenario started. */
  at: number;
  to: string;
  text: string;
}

/** A one-line name of an expectation for failure messages and notes (`mailbox alice`, `email to ...`). */
function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'mailbox':
      return `mailbox ${e.identity}`;
    case 'email':
      return `email to ${e.to}${e.subject ? ` with subject containing "${e.subject}"` : ''}${e.contains ? ` containing "${e.contains}"` : ''}`;
    case 'sms':
      return `sms to ${e.to}${e.contains ? ` containing "${e.contains}"` : ''}`;
    case 'result':
      return `result of call ${e.call}`;
    case 'missedCalls':
      return `missed calls of ${e.identity}`;
    case 'mwi':
      return `MWI for ${e.extension}${e.gateway ? ` at ${e.gateway}` : ''}`;
  }
}

/** What the expectations read of the store. */
export type ExpectationStore = Pick<Store, 'findMailbox' | 'pinStatus' | 'listVoiceMessages' | 'listMissedCalls'>;

/** Where the expectations read what happened; what a source cannot provide fails (or, for results, is skipped) with its reason. */
export interface ExpectationSources {
  /** The store after the run, or why there is none (mailbox and missedCalls expectations then fail with it). */
  store: ExpectationStore | { unavailable: string };
  /** The mails sent during the run, or why they are unknown (email expectations then fail with it). */
  mails: CapturedMail[] | { unavailable: string };
  /** The texts the SMS provider accepted, or why they are unknown (sms expectations then fail with it). */
  sms?: SentSms[] | { unavailable: string };
  /** Every call (repeat copies included) with its record (null: the call did not end, or its result is unknown). */
  calls: readonly { spec: ScenarioCall; record: CallRecord | null }[];
  /** Why call results cannot be known: `result` expectations are then skipped, with this in the notes. */
  resultsUnavailable?: string;
  /** The simulated gateways' NOTIFYs, or why there are none: `mwi` expectations are then skipped, with this in the notes. */
  mwi?: SimMwiGateways | { unavailable: string };
}

/**
 * Checks a scenario's expectations, in order (reading the store as it goes).
 * @returns every failed expectation (`expect[i] (what): problem`), and notes for expectations that were skipped
 * @throws what the store throws
 */
export async function checkExpectations(scenario: Scenario, sources: ExpectationSources): Promise<{ failures: string[]; notes: string[] }> {
  const out: string[] = [];
  const notes: string[] = [];
  const calls = sources.calls;
  const storeOrWhy = sources.store;
  const mailsOrWhy = sources.mails;
  for (const [i, e] of scenario.expect.entries()) {
    const problems: string[] = [];
    const is = (what: string, actual: unknown, expected: unknown) => {
      if (expected !== undefined && actual !== expected) problems.push(`${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    };
    const unavailable = (src: object): string | undefined => ('unavailable' in src ? (src as { unavailable: string }).unavailable : undefined);
    const noStore = unavailable(storeOrWhy);
    const noMails = unavailable(mailsOrWhy);
    const store = storeOrWhy as ExpectationStore;
    const mails = mailsOrWhy as CapturedMail[];
    switch (e.kind) {
      case 'mailbox': {
        if (noStore) {
          problems.push(noStore);
          break;
        }
        const m = await store.findMailbox(e.identity);
        if (!m) {
          problems.push('no such mailbox');
          break;
        }
        const st = await store.pinStatus(m);
        is('pinExpired', st.PinExpired, e.pinExpired);
        is('firstTimeUser', st.FirstTimeUser, e.firstTimeUser);
        is('lockedOut', st.LockedOut, e.lockedOut);
        if (e.voiceMessages) {
          const list = await store.listVoiceMessages(m.identity);
          is('voiceMessages.total', list.length, e.voiceMessages.total);
          is('voiceMessages.unheard', list.filter((v) => v.unheard).length, e.voiceMessages.unheard);
        }
        is('greetingRecorded', m.greetingFile !== null, e.greetingRecorded);
        is('nameRecorded', m.nameFile !== null, e.nameRecorded);
        break;
      }
      case 'email': {
        if (noMails) {
          problems.push(noMails);
          break;
        }
        const to = mails.filter((m) => m.to.toLowerCase() === e.to.toLowerCase());
        const matching = to.filter(
          (m) => (!e.subject || m.subject.includes(e.subject)) && (!e.contains || m.subject.includes(e.contains) || m.text.includes(e.contains)),
        );
        const sent = mails.length === 0 ? 'no mail was sent' : `mails sent: ${mails.map((m) => `to ${m.to} "${m.subject}"`).join('; ')}`;
        if (e.count !== undefined) {
          if (matching.length !== e.count) problems.push(`${matching.length} such mail${matching.length === 1 ? '' : 's'}, expected ${e.count}; ${sent}`);
        } else if (matching.length === 0) problems.push(`no such mail; ${sent}`);
        break;
      }
      case 'sms': {
        const textsOrWhy = sources.sms ?? { unavailable: 'texts are not known to this runner' };
        const noSms = unavailable(textsOrWhy);
        if (noSms) {
          problems.push(noSms);
          break;
        }
        const texts = textsOrWhy as SentSms[];
        const digits = (n: string) => n.replace(/\D/g, '');
        const matching = texts.filter((t) => digits(t.to) === digits(e.to) && (!e.contains || t.text.includes(e.contains)));
        const sent = texts.length === 0 ? 'no text was sent' : `texts sent: ${texts.map((t) => `to ${t.to} "${t.text}"`).join('; ')}`;
        if (e.count !== undefined) {
          if (matching.length !== e.count) problems.push(`${matching.length} such text${matching.length === 1 ? '' : 's'}, expected ${e.count}; ${sent}`);
        } else if (matching.length === 0) problems.push(`no such text; ${sent}`);
        break;
      }
      case 'result': {
        if (sources.resultsUnavailable) {
          notes.push(`expect[${i}] (${describeExpectation(e)}) not checked: ${sources.resultsUnavailable}`);
          break;
        }
        // A repeated call's expectation holds for every copy.
        for (const c of calls.filter((x) => x.spec.id === e.call || x.spec.template === e.call)) {
          const who = c.spec.template ? `call ${c.spec.id}: ` : '';
          if (!c.record) problems.push(`${who}the call has no result (it did not end)`);
          else is(`${who}the result`, c.record.result, e.is);
        }
        break;
      }
      case 'missedCalls': {
        if (noStore) {
          problems.push(noStore);
          break;
        }
        if (!(await store.findMailbox(e.identity))) {
          problems.push('no such mailbox');
          break;
        }
        is('the count', (await store.listMissedCalls(e.identity)).length, e.count);
        break;
      }
      case 'mwi': {
        const src = sources.mwi ?? { unavailable: 'MWI is not simulated by this runner' };
        if ('unavailable' in src) {
          notes.push(`expect[${i}] (${describeExpectation(e)}) skipped: ${src.unavailable}`);
          break;
        }
        const mine = src.notifies.filter((n) => n.extension === e.extension && (!e.gateway || n.gateway.toLowerCase() === e.gateway.toLowerCase()));
        const delivered = mine.filter((n) => n.delivered);
        const seen = src.notifies.length === 0 ? 'no NOTIFY was sent' : `NOTIFYs: ${src.notifies.map((n) => `${n.extension}@${n.gateway} ${n.status}${n.delivered ? ` ${n.messagesWaiting ? 'yes' : 'no'} ${n.newMessages}/${n.oldMessages}` : ''}`).join('; ')}`;
        is('delivered', delivered.length, e.delivered);
        is('failed', src.failures.some((f) => f.extension === e.extension), e.failed);
        if (e.messagesWaiting !== undefined || e.newMessages !== undefined || e.oldMessages !== undefined) {
          const last = delivered[delivered.length - 1];
          if (!last) problems.push(`no NOTIFY was delivered; ${seen}`);
          else {
            is('messagesWaiting', last.messagesWaiting, e.messagesWaiting);
            is('newMessages', last.newMessages, e.newMessages);
            is('oldMessages', last.oldMessages, e.oldMessages);
          }
        }
        for (let k = 0; k < problems.length; k++) if (!problems[k].includes('NOTIFY')) problems[k] += `; ${seen}`;
        break;
      }
    }
    for (const p of problems) out.push(`expect[${i}] (${describeExpectation(e)}): ${p}`);
  }
  return { failures: out, notes };
}
