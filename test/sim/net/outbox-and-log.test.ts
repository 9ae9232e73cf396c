/** What the network simulator reads from the server's side: `.eml` files of the outbox, and its JSON log lines. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import nodemailer from 'nodemailer';
import { decodeWords, listOutbox, parseEml, readNewMails } from '../../../src/sim/net/outbox';
import { ServerLogFile, ServerLogResults } from '../../../src/sim/net/server-log';
import { tempDir } from '../../helpers';

async function eml(to: string, subject: string, text: string): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return (await t.sendMail({ from: 'Voice Access <va@contoso.com>', to, subject, text })).message as Buffer;
}

describe('outbox', () => {
  it('reads what nodemailer writes: encoded subject, quoted-printable body', async () => {
    const long = 'Votre nouveau code PIN de messagerie vocale est prêt, voilà: éèà';
    const m = parseEml(await eml('"Tony" <Tony@Contoso.com>', long, `Your new voice mail PIN follows.\nPIN: 582047\n${'x '.repeat(60)}é`));
    expect(m.to).toBe('tony@contoso.com');
    expect(m.subject).toBe(long);
    expect(m.text).toContain('Your new voice mail PIN follows.\nPIN: 582047');
    expect(m.text).toContain('é');
    expect(m.text).not.toContain('=\n');
  });

  it('decodes RFC 2047 words, B and Q, joined across folds', () => {
    expect(decodeWords('=?UTF-8?B?w6k=?= =?UTF-8?Q?t=C3=A9_x?= plain')).toBe('été x plain');
    expect(decodeWords('no words')).toBe('no words');
  });

  it('lists only the mails that are new', async () => {
    const data = tempDir('va-outbox-');
    mkdirSync(path.join(data, 'outbox'));
    writeFileSync(path.join(data, 'outbox', 'a.eml'), await eml('a@contoso.com', 'old', 'old'));
    const before = new Set(listOutbox(data));
    writeFileSync(path.join(data, 'outbox', 'b.eml'), await eml('b@contoso.com', 'new', 'new'));
    expect(readNewMails(data, before).map((m) => [m.to, m.subject])).toEqual([['b@contoso.com', 'new']]);
    expect(listOutbox(path.join(data, 'nothing'))).toEqual([]);
  });
});

describe('server log', () => {
  const line = (o: object) => `${JSON.stringify(o)}\n`;

  it('takes "call ended" lines by Call-ID, across chunk boundaries, ignoring the rest', () => {
    const r = new ServerLogResults();
    const text = line({ level: 30, msg: 'call answered', callId: 'a' }) + line({ level: 30, callId: 'a', flow: 'sign-in', result: 'signed-out', msg: 'call ended' }) + 'not json\n';
    r.write(text.slice(0, 70));
    expect(r.resultOf('a')).toBeUndefined();
    r.write(text.slice(70));
    expect(r.resultOf('a')).toEqual({ flow: 'sign-in', result: 'signed-out' });
    expect(r.resultOf('b')).toBeUndefined();
  });

  it('reads a growing log file', () => {
    const file = path.join(tempDir('va-log-'), 'server.log');
    writeFileSync(file, line({ msg: 'ready' }));
    const f = new ServerLogFile(file);
    expect(f.resultOf('x')).toBeUndefined();
    appendFileSync(file, line({ callId: 'x', flow: 'conference', result: 'left', msg: 'call ended' }));
    expect(f.resultOf('x')).toEqual({ flow: 'conference', result: 'left' });
    expect(f.description).toContain(file);
  });
});
