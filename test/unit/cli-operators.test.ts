/**
 * Issue 19, "Operators are not surprised", on the command line: a cmdlet that creates a store says so; `VA_DATA` and
 * `VA_CONFIG` point cmdlets, `serve` and `simulate --target` at a data folder and directory file (options win);
 * `--version`; `serve` and its `--log-level` in the help; values accepted before but wrong are refused with the key
 * or mailbox named (gateway addresses, directory PINs that break their policy); `Set-UMMailboxPIN -SendEmail $false`
 * shows a generated PIN once.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { displayPath } from '../../src/admin/directory-import';
import { openApp } from '../../src/app';
import { main } from '../../src/cli/main';
import { runServeCli } from '../../src/cli/serve';
import { gatewayAddressProblem, loadDirectory } from '../../src/config/load';
import { ROOT, captureIo, tempDir, writeConfig } from '../helpers';

const made: string[] = [];
let home: string;
const cwd = process.cwd();

beforeAll(() => {
  // Every command here runs from a scratch folder: a default `./data` never lands in the repository.
  home = tempDir('va-operators-');
  made.push(home);
  process.chdir(home);
});
afterAll(() => {
  process.chdir(cwd);
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder with a directory file (the demo, optionally patched). */
function fresh(patch?: (doc: any) => void): { dir: string; data: string; config: string } {
  const dir = tempDir('va-operators-');
  made.push(dir);
  return { dir, data: path.join(dir, 'data'), config: writeConfig(dir, patch) };
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main(args, io, env);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe('a cmdlet that creates the store says so', () => {
  test('the first cmdlet on an empty data folder prints where the store is and what it was created from; the next one is quiet', async () => {
    const { data, config } = fresh();
    const first = await cli(['Get-UMMailboxPIN', '--data', data, '--config', config]);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(`created a new store in ${data} from ${config}\n`);
    expect(first.stdout).toContain('tony@contoso.com');
    const again = await cli(['Get-UMMailboxPIN', '--data', data, '--config', config]);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
  });

  test('paths under the working folder are shown as typed: ./data from ./directory.yaml', async () => {
    writeConfig(home);
    const r = await cli(['Get-UMMailbox', '--config', 'directory.yaml']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('created a new store in ./data from ./directory.yaml\n');
    expect(existsSync(path.join(home, 'data', 'voice-access.db'))).toBe(true);
    expect(displayPath(path.join(ROOT, 'config', 'contoso.yaml'), ROOT)).toBe('./config/contoso.yaml');
    expect(displayPath('/elsewhere/data', ROOT)).toBe('/elsewhere/data');
  });
});

describe('VA_DATA and VA_CONFIG', () => {
  test('cmdlets use them when --data and --config are not given', async () => {
    const { data, config } = fresh((doc) => (doc.mailboxes[0].displayName = 'Tony From The Env File'));
    const r = await cli(['Get-UMMailbox', 'tony@contoso.com', '--json'], { VA_DATA: data, VA_CONFIG: config });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].DisplayName).toBe('Tony From The Env File');
    expect(r.stderr).toBe(`created a new store in ${data} from ${config}\n`);
    expect(existsSync(path.join(data, 'voice-access.db'))).toBe(true);
  });

  test('--data and --config win over them; empty variables count as unset', async () => {
    const env = fresh((doc) => (doc.mailboxes[0].displayName = 'From VA_CONFIG'));
    const flags = fresh((doc) => (doc.mailboxes[0].displayName = 'From --config'));
    const r = await cli(['Get-UMMailbox', 'tony@contoso.com', '--json', '--data', flags.data, '--config', flags.config], { VA_DATA: env.data, VA_CONFIG: env.config });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].DisplayName).toBe('From --config');
    expect(existsSync(env.data)).toBe(false);
    const empty = await cli(['Get-UMMailbox', 'tony@contoso.com', '--json', '--data', flags.data], { VA_DATA: '', VA_CONFIG: '' });
    expect(JSON.parse(empty.stdout)[0].DisplayName).toBe('From --config');
  });

  test('serve takes them (and VA_LOG_LEVEL) unless its options are given, and says so in its help', async () => {
    const saved = { ...process.env };
    const { dir, data } = fresh();
    try {
      const missing = path.join(dir, 'no-such-directory.yaml');
      process.env.VA_DATA = data;
      process.env.VA_CONFIG = missing;
      let io = captureIo();
      expect(await runServeCli(['--sip-port', '0', '--rtp-ports', '40000-40100'], io)).toBe(1);
      expect(io.stderr).toContain(`VA_ERR_CONFIG_NOT_FOUND: cannot read the directory file ${missing}`);
      const other = path.join(dir, 'other.yaml');
      io = captureIo();
      expect(await runServeCli(['--config', other, '--sip-port', '0'], io)).toBe(1);
      expect(io.stderr).toContain(`cannot read the directory file ${other}`);
      process.env.VA_LOG_LEVEL = 'chatty';
      io = captureIo();
      expect(await runServeCli(['--sip-port', '0'], io)).toBe(2);
      expect(io.stderr).toMatch(/--log-level.*chatty.*invalid.*trace, debug, info, warn, error, fatal, silent/s);
      delete process.env.VA_LOG_LEVEL;
      io = captureIo();
      expect(await runServeCli(['--help'], io)).toBe(0);
      expect(io.stdout).toMatch(/--log-level <level>[\s\S]*\$VA_LOG_LEVEL/);
      expect(io.stdout).toMatch(/--data <dir>[\s\S]*\$VA_DATA/);
      expect(io.stdout).toMatch(/--config <file>[\s\S]*\$VA_CONFIG/);
      expect(io.stdout).toMatch(/--store <url>[\s\S]*\$VA_STORE_URL/);
    } finally {
      process.env = saved;
    }
  });

  test('in-process simulate ignores VA_DATA: example scenarios never run on a real store', async () => {
    const saved = { ...process.env };
    const { data } = fresh();
    try {
      process.env.VA_DATA = data;
      const r = await cli(['simulate', path.join(ROOT, 'scenarios', 'sign-in.yaml')]);
      expect(r.stdout).toContain('1 passed, 0 failed');
      expect(existsSync(data)).toBe(false);
    } finally {
      process.env = saved;
    }
  });
});

describe('--version and the help', () => {
  test('voice-access --version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  test('the top-level help lists serve among the commands, Import-Directory among the cmdlets, and the variables', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    const commands = r.stdout.split('\nCommands:\n')[1].split('\n\n')[0];
    expect(commands).toMatch(/^ {2}serve\s/m);
    expect(commands).toMatch(/^ {2}simulate\s/m);
    expect(r.stdout).toMatch(/^ {2}Import-Directory\s/m);
    for (const v of ['VA_DATA', 'VA_CONFIG', 'VA_LOG_LEVEL', '--log-level', '--version']) expect(r.stdout).toContain(v);
  });
});

describe('Set-UMMailboxPIN -SendEmail $false with a generated PIN', () => {
  test('prints the PIN once; mailed or given PINs are not printed', async () => {
    const { data, config } = fresh();
    const run = (...args: string[]) => cli([...args, '--data', data, '--config', config, '--json']);
    const quiet = await run('Set-UMMailboxPIN', 'tony@contoso.com', '-SendEmail', '$false');
    expect(quiet.code).toBe(0);
    const [out] = JSON.parse(quiet.stdout);
    expect(out).toMatchObject({ PinGenerated: true, EmailSentTo: null, Pin: expect.stringMatching(/^[0-9]{6}$/) });
    const app = await openApp({ data, config });
    try {
      expect((await app.pins.signIn('tony@contoso.com', out.Pin)).outcome).toBe('ok');
    } finally {
      app.close();
    }
    expect(existsSync(path.join(data, 'outbox')) ? readdirSync(path.join(data, 'outbox')) : []).toEqual([]);
    // The list view shows it too (what an administrator at a console sees).
    const list = await cli(['Set-UMMailboxPIN', 'david@contoso.com', '-SendEmail:$false', '--data', data, '--config', config]);
    expect(list.stdout).toMatch(/^Pin +: [0-9]{6}$/m);
    const mailed = JSON.parse((await run('Set-UMMailboxPIN', 'tony@contoso.com')).stdout)[0];
    expect(mailed.EmailSentTo).toBe('tony@contoso.com');
    expect(mailed).not.toHaveProperty('Pin');
    const given = JSON.parse((await run('Set-UMMailboxPIN', 'tony@contoso.com', '-Pin', '246813', '-SendEmail', '$false')).stdout)[0];
    expect(given).not.toHaveProperty('Pin');
  });
});

describe('UM IP gateway addresses', () => {
  test.each([
    ['10.0.0.9', null],
    ['::1', null],
    ['pbx.contoso.com', null],
    ['pbx.contoso.com.', null],
    ['localhost', null],
    ['10.0.0.256', /neither an IP address nor a host name/],
    ['pbx..contoso.com', /neither/],
    ['pbx_1.contoso.com', /neither/],
    ['-pbx.contoso.com', /neither/],
    ['pbx contoso', /neither/],
    ['[::1]', /without brackets/],
    [`${'a'.repeat(64)}.com`, /neither/],
  ])('%s', (address, problem) => {
    const why = gatewayAddressProblem(address);
    if (problem === null) expect(why).toBeNull();
    else expect(why).toMatch(problem);
  });

  test('the directory file is refused at load, naming the key and the gateway; a name is not looked up there', () => {
    const { config } = fresh((doc) => (doc.gateways[1].address = '10.0.0.256'));
    expect(() => loadDirectory(config)).toThrow(/gateways\[1\]\.address: "10\.0\.0\.256" is neither an IP address nor a host name \(UM IP gateway gw2\)/);
    try {
      loadDirectory(config);
    } catch (err) {
      expect((err as { code: string }).code).toBe('VA_ERR_CONFIG_INVALID');
    }
    const named = fresh((doc) => (doc.gateways[1].address = 'pbx-b.contoso.invalid'));
    expect(loadDirectory(named.config).directory.gateways[1].address).toBe('pbx-b.contoso.invalid');
  });

  test('New-/Set-UMIPGateway refuse an address that is not one (exit 2) or a name that does not resolve (exit 1); nothing changes', async () => {
    const { data, config } = fresh();
    const run = (...args: string[]) => cli([...args, '--data', data, '--config', config]);
    const before = (await run('Get-UMIPGateway', '--json')).stdout;
    const bad = await run('New-UMIPGateway', 'gw9', '-Address', 'pbx_9.contoso.com', '-UMDialPlan', 'Contoso-DP');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/VA_ERR_CLI_PARAMETER: -Address: "pbx_9.contoso.com" is neither an IP address nor a host name/);
    const unresolved = await run('New-UMIPGateway', 'gw9', '-Address', 'no-such-pbx.invalid', '-UMDialPlan', 'Contoso-DP');
    expect(unresolved.code).toBe(1);
    expect(unresolved.stderr).toMatch(/VA_ERR_GATEWAY_ADDRESS: -Address: the host name "no-such-pbx.invalid" does not resolve/);
    const set = await run('Set-UMIPGateway', 'gw1', '-Address', '300.1.2.3');
    expect(set.code).toBe(2);
    const setUnresolved = await run('Set-UMIPGateway', 'gw1', '-Address', 'no-such-pbx.invalid');
    expect(setUnresolved.code).toBe(1);
    expect(setUnresolved.stderr).toContain('VA_ERR_GATEWAY_ADDRESS');
    expect((await run('Get-UMIPGateway', '--json')).stdout).toBe(before);
    // A name that resolves is taken.
    expect((await run('New-UMIPGateway', 'gw9', '-Address', 'localhost', '-UMDialPlan', 'Contoso-DP')).code).toBe(0);
    expect((await run('Set-UMIPGateway', 'gw9', '-Address', '127.0.0.9')).code).toBe(0);
  });
});

describe('directory PINs that break their mailbox policy', () => {
  test.each([
    ['a run of digits', 0, '123456', /mailboxes\[0\]\.pin of tony@contoso\.com: the PIN must not be a run of consecutive digits or one repeated digit \(UM mailbox policy Contoso-Policy\)/],
    ['one repeated digit', 1, '777777', /mailboxes\[1\]\.pin of david@contoso\.com: .*repeated digit/],
    ["the extension's tail", 1, '151235', /mailboxes\[1\]\.pin of david@contoso\.com: the PIN must not end with, or be the end of, the extension/],
  ])('%s is refused at the import, naming the mailbox and the rule, never the PIN; no store is imported', async (_what, index, pin, reason) => {
    const { dir, data, config } = fresh((doc) => (doc.mailboxes[index].pin = pin));
    const r = await cli(['Get-UMMailboxPIN', '--data', data, '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^VA_ERR_PIN_POLICY: /);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).not.toContain(pin);
    expect(r.stderr).not.toContain('created a new store');
    // Fixed, the next run imports.
    writeConfig(dir);
    const fixed = await cli(['Get-UMMailboxPIN', '--data', data, '--config', config]);
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toContain('created a new store');
  });

  test('every broken PIN is listed at once', async () => {
    const { data, config } = fresh((doc) => {
      doc.mailboxes[0].pin = '111111';
      doc.mailboxes[2].pin = '654321';
    });
    mkdirSync(data, { recursive: true });
    const r = await cli(['Get-UMMailboxPIN', '--data', data, '--config', config]);
    expect(r.stderr).toContain('tony@contoso.com');
    expect(r.stderr).toContain('claire@contoso.com');
    expect(r.stderr).not.toContain('david@contoso.com');
  });
});
