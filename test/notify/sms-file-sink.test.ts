/**
 * The SMS file sink (the default provider): one JSON file per text in `<data>/sms/`, written atomically and named by
 * the clock's time, read back by `readNewSms` (what the network simulator uses for `sms` expectations).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isVaError } from '../../src/errors';
import { createFileSmsSender, listSmsFiles, readNewSms } from '../../src/notify/sms-file-sender';
import { createSmsSender } from '../../src/notify/sms-provider';
import { tempDir } from '../helpers';

const AT = Date.UTC(2025, 0, 6, 9, 0, 0);

test('each text is one JSON file {to, text, at} under <data>/sms/, with no temporary file left', async () => {
  const data = tempDir('va-sms-');
  let now = AT;
  const sms = createFileSmsSender(data, { now: () => now });
  await sms.send({ to: '+14255550112', text: 'Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s.' });
  now += 1500;
  await sms.send({ to: '+33612345678', text: 'Appel manqué de numéro masqué, lun. 6 janv., 10:00.' });
  const files = readdirSync(path.join(data, 'sms'));
  expect(files).toHaveLength(2);
  expect(files.every((f) => /^2025-01-06T09-00-0\d-\d{3}Z-[0-9a-f]{8}\.json$/.test(f))).toBe(true);
  expect(listSmsFiles(data)).toEqual(files.sort());
  const first = JSON.parse(readFileSync(path.join(data, 'sms', listSmsFiles(data)[0]), 'utf8'));
  expect(first).toEqual({ to: '+14255550112', text: 'Voice message from +14255550123, Mon, Jan 6, 9:00 AM, 4 s.', at: '2025-01-06T09:00:00.000Z' });
  const texts = readNewSms(data);
  expect(texts.map((t) => t.to)).toEqual(['+14255550112', '+33612345678']);
  expect(texts[1].text).toBe('Appel manqué de numéro masqué, lun. 6 janv., 10:00.');
});

test('readNewSms skips the files seen before and files that are not texts', async () => {
  const data = tempDir('va-sms-');
  const sms = createFileSmsSender(data, { now: () => AT });
  await sms.send({ to: '+1', text: 'old' });
  const before = new Set(listSmsFiles(data));
  await sms.send({ to: '+2', text: 'new' });
  writeFileSync(path.join(data, 'sms', 'zz-not-a-text.json'), '{"hello": 1}');
  writeFileSync(path.join(data, 'sms', 'zz-broken.json'), '{');
  expect(readNewSms(data, before).map((t) => t.text)).toEqual(['new']);
  expect(readNewSms(tempDir('va-sms-empty-'))).toEqual([]);
});

test('the file sink is the default provider', async () => {
  const data = tempDir('va-sms-');
  await createSmsSender({ provider: 'file' }, data, { now: () => AT }).send({ to: '+1', text: 'x' });
  expect(listSmsFiles(data)).toHaveLength(1);
});

test('a folder that cannot be written fails with VA_ERR_SMS_SEND naming it, without the text', async () => {
  const data = tempDir('va-sms-');
  // A file where the folder should be: no process, root included, can write texts into it.
  writeFileSync(path.join(data, 'sms'), 'not a folder');
  const sms = createFileSmsSender(data, { now: () => AT });
  const err = await sms.send({ to: '+1', text: 'the text body' }).then(
    () => null,
    (e: Error) => e,
  );
  expect(isVaError(err, 'VA_ERR_SMS_SEND')).toBe(true);
  expect(err!.message).toContain(`cannot write the text to +1 into ${path.join(data, 'sms')}`);
  expect(err!.message).not.toContain('the text body');
});
