/**
 * Issue 19, "Operators are not surprised": edits to the directory file after the first start are no longer ignored
 * without a word. `serve` compares the file with the snapshot the store keeps of what it was imported from and warns
 * naming what differs; `voice-access Import-Directory FILE [-WhatIf]` applies the file's dial plans, UM mailbox
 * policies, UM IP gateways and new mailboxes, never touching the PIN state or messages of existing mailboxes.
 */
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { reportStoreOrigin } from '../../src/admin/directory-import';
import { openApp } from '../../src/app';
import { main } from '../../src/cli/main';
import { startServer } from '../../src/cli/serve';
import { createLogger } from '../../src/log';
import { captureIo, sqliteOf, tempDir, writeConfig } from '../helpers';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

interface Ctx {
  dir: string;
  data: string;
  config: string;
}

function fresh(patch?: (doc: any) => void): Ctx {
  const dir = tempDir('va-import-');
  made.push(dir);
  return { dir, data: path.join(dir, 'data'), config: writeConfig(dir, patch) };
}

/** Another directory file beside the first (the demo with `patch` applied). */
function editedFile(patch: (doc: any) => void): string {
  const dir = tempDir('va-import-file-');
  made.push(dir);
  return writeConfig(dir, patch);
}

async function run(ctx: Ctx, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main([...args, '--data', ctx.data, '--config', ctx.config], io, {});
  return { code, stdout: io.stdout, stderr: io.stderr };
}

async function json(ctx: Ctx, ...args: string[]): Promise<any[]> {
  const r = await run(ctx, ...args, '--json');
  if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Everything Import-Directory may change, to compare before and after. */
async function state(ctx: Ctx): Promise<unknown> {
  return {
    plans: await json(ctx, 'Get-UMDialPlan'),
    policies: await json(ctx, 'Get-UMMailboxPolicy'),
    gateways: await json(ctx, 'Get-UMIPGateway'),
    mailboxes: await json(ctx, 'Get-UMMailbox'),
    pins: await json(ctx, 'Get-UMMailboxPIN'),
  };
}

/** The demo with a new dial plan, policy, gateway and mailbox, gw1 moved, the gateways reordered, Tony renamed. */
const EDITS = (doc: any) => {
  doc.dialPlans.push({ name: 'Fabrikam-DP', numberOfDigitsInExtension: 4, accessNumbers: ['+14255550300'] });
  doc.mailboxPolicies.push({ name: 'Fabrikam-Policy', dialPlan: 'Fabrikam-DP', minPinLength: 8 });
  doc.mailboxPolicies[0].pinHistoryCount = 8;
  doc.gateways[0].address = '10.0.0.9';
  doc.gateways = [doc.gateways[1], doc.gateways[0], doc.gateways[2], { name: 'gw-fab', address: '127.0.0.1', port: 5070, dialPlan: 'Fabrikam-DP' }];
  doc.mailboxes.push({ identity: 'zoe@contoso.com', displayName: 'Zoe Ng', extension: '7001', policy: 'Fabrikam-Policy', pin: '48291375', pinExpired: false, firstTimeUser: false });
  doc.mailboxes[0].displayName = 'Tony S.';
  doc.mailboxes[0].pin = '602817';
};

describe('Import-Directory', () => {
  test('applies dial plans, policies, gateways (and their order) and new mailboxes; existing mailboxes keep their PIN state and messages', async () => {
    const ctx = fresh();
    await json(ctx, 'Set-UMMailboxPIN', 'tony@contoso.com', '-Pin', '246813', '-PinExpired', '$false', '-SendEmail', '$false');
    await json(ctx, 'Set-UMMailboxPIN', 'david@contoso.com', '-LockedOut', '$true');
    const app = await openApp(ctx);
    try {
      await app.store.addVoiceMessage({ identity: 'tony@contoso.com', caller: '+14255550123', receivedAt: 1, durationMs: 3000, urgent: false, audioFile: '/tmp/m.wav' });
    } finally {
      app.close();
    }
    const file = editedFile(EDITS);
    const before = await state(ctx);

    // -WhatIf: the same report, nothing applied, nothing changed.
    const whatIf = await json(ctx, 'Import-Directory', file, '-WhatIf');
    expect(await state(ctx)).toEqual(before);

    const done = await json(ctx, 'Import-Directory', file);
    expect(done.map((o) => [o.Action, o.ObjectType, o.Identity, o.Applied])).toEqual([
      ['Add', 'UMDialPlan', 'Fabrikam-DP', true],
      ['Change', 'UMMailboxPolicy', 'Contoso-Policy', true],
      ['Add', 'UMMailboxPolicy', 'Fabrikam-Policy', true],
      ['Change', 'UMIPGateway', 'gw1', true],
      ['Add', 'UMIPGateway', 'gw-fab', true],
      ['Change', 'UMIPGateway', '(failover order)', true],
      ['Skip', 'UMMailbox', 'tony@contoso.com', false],
      ['Add', 'UMMailbox', 'zoe@contoso.com', true],
    ]);
    expect(whatIf).toEqual(done.map((o) => ({ ...o, Applied: false })));
    expect(done[1].Detail).toBe('pinHistoryCount: 5 -> 8');
    expect(done[3].Detail).toBe('address: 127.0.0.1 -> 10.0.0.9');
    expect(done[5].Detail).toBe('failover order: gw1, gw2, gw-paris, gw-fab -> gw2, gw1, gw-paris, gw-fab');
    expect(done[6].Detail).toMatch(/kept as it is.*displayName differ/);

    expect((await json(ctx, 'Get-UMIPGateway')).map((g) => [g.Name, g.Address])).toEqual([
      ['gw2', '127.0.0.1'],
      ['gw1', '10.0.0.9'],
      ['gw-paris', '127.0.0.1'],
      ['gw-fab', '127.0.0.1'],
    ]);
    expect((await json(ctx, 'Get-UMMailboxPolicy', 'Contoso-Policy'))[0].PINHistoryCount).toBe(8);
    expect((await json(ctx, 'Get-UMMailbox', 'tony@contoso.com'))[0].DisplayName).toBe('Tony Smith');
    expect((await json(ctx, 'Get-UMMailboxPIN', 'david@contoso.com'))[0].LockedOut).toBe(true);
    const app2 = await openApp(ctx);
    try {
      // Tony keeps the PIN he had (not the file's), his state and his message; Zoe signs in with the file's PIN.
      expect((await app2.pins.signIn('tony@contoso.com', '602817')).outcome).toBe('failed');
      expect((await app2.pins.signIn('tony@contoso.com', '246813')).outcome).toBe('ok');
      expect(await app2.store.listVoiceMessages('tony@contoso.com')).toHaveLength(1);
      expect(await app2.pins.signIn('zoe@contoso.com', '48291375')).toMatchObject({ outcome: 'ok', mustChangePin: false, firstTimeUser: false });
      expect(await app2.store.getMailbox('zoe@contoso.com')).toMatchObject({ dialPlan: 'Fabrikam-DP', extension: '7001' });
    } finally {
      app2.close();
    }
    // Again: nothing left to change (Tony is still told about).
    expect((await json(ctx, 'Import-Directory', file)).map((o) => o.Action)).toEqual(['Skip']);
  });

  test('the list view says what changed', async () => {
    const ctx = fresh();
    const file = editedFile((doc) => (doc.gateways[1].port = 5099));
    await json(ctx, 'Get-UMIPGateway');
    const r = await run(ctx, 'Import-Directory', '-Path', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Action +: Change\nObjectType +: UMIPGateway\nIdentity +: gw2\nDetail +: port: 5063 -> 5099\nApplied +: True$/m);
  });

  test.each([
    ['a policy moved to another dial plan', (doc: any) => {
      EDITS(doc);
      doc.mailboxPolicies[1].dialPlan = 'Fabrikam-DP';
    }, 1, /VA_ERR_INVALID_SETTING: UM mailbox policy Contoso-Paris-Policy: its dial plan cannot change \(file Fabrikam-DP, store Contoso-Paris\)/],
    ['a new mailbox whose PIN breaks its policy', (doc: any) => {
      EDITS(doc);
      doc.mailboxes[3].pin = '12345678';
    }, 1, /VA_ERR_PIN_POLICY: .*mailboxes\[3\]\.pin of zoe@contoso\.com: the PIN must not be a run/s],
    ["a new mailbox on another's extension", (doc: any) => {
      doc.mailboxes.push({ identity: 'zed@contoso.com', displayName: 'Zed', extension: '51234', policy: 'Contoso-Policy' });
      doc.mailboxes[0].extension = '51299';
    }, 1, /VA_ERR_ALREADY_EXISTS: zed@contoso\.com: extension 51234 of dial plan Contoso-DP is already tony@contoso\.com's/],
    ['a new gateway whose name does not resolve', (doc: any) => {
      EDITS(doc);
      doc.gateways[3].address = 'pbx.no-such-host.invalid';
    }, 1, /VA_ERR_GATEWAY_ADDRESS: UM IP gateway gw-fab \(gateways\[3\]\.address in .*\): the host name "pbx\.no-such-host\.invalid" does not resolve/],
    ['a gateway address that is not one', (doc: any) => {
      doc.gateways[0].address = '10.0.0.300';
    }, 1, /VA_ERR_CONFIG_INVALID: .*gateways\[0\]\.address: "10\.0\.0\.300" is neither an IP address nor a host name/s],
  ])('%s: refused, with or without -WhatIf, and nothing changes', async (_what, patch, code, reason) => {
    const ctx = fresh();
    const before = await state(ctx);
    const file = editedFile(patch);
    for (const whatIf of [['-WhatIf'], []]) {
      const r = await run(ctx, 'Import-Directory', file, ...whatIf);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(reason);
      expect(await state(ctx)).toEqual(before);
    }
  });

  test('on a data folder without a store: -WhatIf creates nothing; without it the store is created from the file', async () => {
    const ctx = fresh();
    const file = editedFile(EDITS);
    const io = captureIo();
    expect(await main(['Import-Directory', file, '-WhatIf', '--data', ctx.data], io, {})).toBe(0);
    expect(io.stderr).toBe(`no store in ${ctx.data}: without -WhatIf, one would be created from ${file}\n`);
    expect(existsSync(ctx.data)).toBe(false);
    const io2 = captureIo();
    expect(await main(['Import-Directory', file, '--data', ctx.data, '--json'], io2, {})).toBe(0);
    expect(io2.stderr).toBe(`created a new store in ${ctx.data} from ${file}\n`);
    expect(JSON.parse(io2.stdout)).toEqual([]);
    const plans = await json({ ...ctx, config: file }, 'Get-UMDialPlan');
    expect(plans.map((p) => p.Name)).toContain('Fabrikam-DP');
  });
});

/** A logger whose lines are kept, parsed. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

describe('serve compares the directory file with what the store was imported from', () => {
  async function serveOnce(ctx: Ctx): Promise<Array<Record<string, any>>> {
    const { logger, lines } = capturingLogger();
    const server = await startServer({ config: ctx.config, data: ctx.data, sipHost: '127.0.0.1', sipPort: 0, rtpPortMin: 0, rtpPortMax: 0, logger });
    await server.stop();
    return lines;
  }
  const directoryLines = (lines: Array<Record<string, any>>) => lines.filter((l) => /created a new store|directory file differs/.test(l.msg));

  test('first start: created; the file edited: a warning naming each difference; after Import-Directory: nothing', async () => {
    const ctx = fresh();
    const first = directoryLines(await serveOnce(ctx));
    expect(first).toEqual([expect.objectContaining({ level: 30, msg: `created a new store in ${ctx.data} from ${ctx.config}` })]);

    // A cmdlet's change is the store's own business: no warning for it.
    await json(ctx, 'Set-UMIPGateway', 'gw2', '-Port', '5099');
    expect(directoryLines(await serveOnce(ctx))).toEqual([]);

    writeConfig(ctx.dir, (doc) => {
      doc.dialPlans.push({ name: 'Fabrikam-DP', numberOfDigitsInExtension: 4 });
      doc.gateways[0].address = '10.0.0.9';
      doc.mailboxes.push({ identity: 'zoe@contoso.com', displayName: 'Zoe Ng', extension: '51299', policy: 'Contoso-Policy' });
      doc.mailboxes[1].pin = '602817'; // a PIN is never compared (nor shown)
    });
    const warned = directoryLines(await serveOnce(ctx));
    expect(warned).toHaveLength(1);
    expect(warned[0].level).toBe(40);
    expect(warned[0].differences).toEqual([
      'dial plan "Fabrikam-DP" added in the file',
      'UM IP gateway "gw1": address differs (file 10.0.0.9, imported 127.0.0.1)',
      'mailbox "zoe@contoso.com" only in the file (added after the import)',
    ]);
    for (const d of warned[0].differences) expect(warned[0].msg).toContain(d);
    expect(warned[0].msg).toContain(`voice-access Import-Directory ${ctx.config} -WhatIf --data ${ctx.data}`);
    expect(JSON.stringify(warned)).not.toContain('602817');

    expect((await run(ctx, 'Import-Directory', ctx.config)).code).toBe(0);
    expect(directoryLines(await serveOnce(ctx))).toEqual([]);
  }, 30_000);

  test('a store imported before snapshots were kept is compared with its own contents', async () => {
    const ctx = fresh();
    await json(ctx, 'Set-UMIPGateway', 'gw2', '-Port', '5099');
    const app = await openApp(ctx);
    try {
      sqliteOf(app).db.prepare("DELETE FROM meta WHERE key = 'imported_snapshot'").run();
      const { logger, lines } = capturingLogger();
      await reportStoreOrigin(app, logger);
      expect(lines).toHaveLength(1);
      expect(lines[0].differences).toEqual(['UM IP gateway "gw2": port differs (file 5063, store 5099)']);
      expect(lines[0].msg).toMatch(/differs from the store \(which predates import snapshots\)/);
    } finally {
      app.close();
    }
  });
});
