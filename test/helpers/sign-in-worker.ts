/**
 * A child process for the multi-process sign-in tests (`test/unit/pin-service-concurrency.test.ts`): opens the app on
 * a data folder, prints `ready`, waits for a line on stdin (so that several processes start at once), then makes
 * `count` concurrent sign-ins with wrong PINs for one mailbox, and prints one JSON line: the outcomes and how many
 * PIN checks (`verifyPin` calls) this process made. Run with `node -r test/helpers/ts-register.js`.
 * argv: <config> <data> <identity> <count> <first wrong PIN (a number)>. Prints no PIN.
 */
import * as pinHash from '../../src/domain/pin-hash';
import { openApp } from '../../src/app';

async function main(): Promise<void> {
  const [config, data, identity, countText, firstText] = process.argv.slice(2);
  let checks = 0;
  const verify = pinHash.verifyPin;
  (pinHash as { verifyPin: typeof verify }).verifyPin = (pin, encoded) => {
    checks++;
    return verify(pin, encoded);
  };
  const app = await openApp({ config, data, mailer: { send: async () => undefined } });
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const first = Number(firstText);
  const results = await Promise.all(
    Array.from({ length: Number(countText) }, (_, i) => app.pins.signIn(identity, String(first + i)).then((r) => r.outcome)),
  );
  app.close();
  process.stdout.write(`${JSON.stringify({ outcomes: results, checks })}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
