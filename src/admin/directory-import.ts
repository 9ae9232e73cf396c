/**
 * Keeping the store and the directory file in step (issue 19, "Operators are not surprised"):
 * - {@link importDirectoryFile}: `voice-access Import-Directory FILE [-WhatIf]` applies the file's dial plans, UM
 *   mailbox policies, UM IP gateways (settings and failover order) and new mailboxes to the store, never touching
 *   the PIN state, greetings or messages of a mailbox the store already has; `-WhatIf` runs every check and change
 *   in a transaction that is rolled back.
 * - {@link directoryDrift} and {@link reportStoreOrigin}: at `serve`'s start, the log says when the store was just
 *   created from the file, or how the file differs from what the store was imported from (the file is only imported
 *   into an empty data folder; later edits are otherwise ignored).
 * Objects only in the store (made with the cmdlets) are kept. Conferencing (tenant settings, organizers, meetings)
 * is imported on the first start only.
 */
import type { Logger } from 'pino';
import * as path from 'node:path';
import { loadDirectory } from '../config/load';
import type { Directory, MailboxEntry } from '../config/schema';
import {
  describeDifference,
  diffSnapshots,
  showValue,
  snapshotOfDirectory,
  type DirectoryDifference,
  type DirectorySnapshot,
  type FieldDifference,
} from '../directory/directory-snapshot';
import { assertDirectoryPins } from '../directory/directory-pins';
import type { OpenedStore } from '../directory/opened-store';
import { hashPin } from '../domain/pin-hash';
import { ErrorCodes, VaError } from '../errors';
import { checkGatewayAddress, type HostLookup } from './gateway-address';
import type { OutputObject } from './ps-format';

/** Options of {@link importDirectoryFile}. */
export interface ImportDirectoryOptions {
  /** Check and report everything, change nothing (PowerShell's -WhatIf). */
  whatIf?: boolean;
  /** Resolves gateway host names; `dns.lookup` by default. */
  lookup?: HostLookup;
}

const OBJECT_TYPE = {
  'dial plan': 'UMDialPlan',
  'UM mailbox policy': 'UMMailboxPolicy',
  'UM IP gateway': 'UMIPGateway',
  mailbox: 'UMMailbox',
} as const;

/** One line of Import-Directory's output. */
function action(verb: 'Add' | 'Change' | 'Skip', d: DirectoryDifference, detail: string, applied: boolean): OutputObject {
  return { Action: verb, ObjectType: OBJECT_TYPE[d.kind], Identity: d.change === 'order' ? '(failover order)' : d.name, Detail: detail, Applied: applied };
}

const changes = (fields: readonly FieldDifference[]) => fields.map((f) => `${f.key}: ${showValue(f.base)} -> ${showValue(f.file)}`).join('; ');

const byName = <T>(list: readonly T[], name: string, nameOf: (t: T) => string): T => list.find((t) => nameOf(t).toLowerCase() === name.toLowerCase())!;

/**
 * Applies a directory file to the store (Import-Directory): adds the dial plans, UM mailbox policies and UM IP
 * gateways the store lacks and gives existing ones the file's settings (a policy cannot move to another dial plan; a
 * dial plan's extension length cannot change while mailboxes use it), puts the file's gateways first in the
 * failover order, in its order, and adds the mailboxes the store lacks with their initial PIN and state. Mailboxes the
 * store has are never changed (their PIN, lockout, greetings and messages stay); those the file describes otherwise
 * are listed as skipped. The store then records the file as what it was imported from, so `serve` stops warning
 * about it.
 * Checks, before anything changes: the file (VA_ERR_CONFIG_*), the new mailboxes' PINs against their policy
 * (VA_ERR_PIN_POLICY, naming each mailbox), the new or changed gateway host names resolve (VA_ERR_GATEWAY_ADDRESS);
 * every other rule is checked by the store in one transaction (`atomically`; `rehearse` for -WhatIf), which a failure
 * rolls back whole.
 * @param store the store to change (a cmdlet's own: nothing else may write to it meanwhile)
 * @param file the directory file (YAML)
 * @returns one object per change (`Action` Add / Change / Skip, `ObjectType`, `Identity`, `Detail`, `Applied`:
 *   false with `whatIf`), in the order applied; none when the store already matches the file
 * @throws VaError VA_ERR_CONFIG_NOT_FOUND, VA_ERR_CONFIG_INVALID, VA_ERR_PIN_POLICY, VA_ERR_GATEWAY_ADDRESS,
 *   VA_ERR_INVALID_SETTING, VA_ERR_ALREADY_EXISTS (an extension taken by a mailbox the file does not name)
 */
export async function importDirectoryFile(store: OpenedStore, file: string, opts: ImportDirectoryOptions = {}): Promise<OutputObject[]> {
  const { directory: dir, path: source } = loadDirectory(file);
  const snapshot = snapshotOfDirectory(dir);
  const differences = diffSnapshots(snapshot, await store.snapshotOfStore());
  const isNew = new Set(differences.filter((d) => d.kind === 'mailbox' && d.change === 'added').map((d) => d.name.toLowerCase()));
  const newMailboxes = dir.mailboxes.filter((m) => isNew.has(m.identity.toLowerCase()));
  assertDirectoryPins(dir, source, (m) => isNew.has(m.identity.toLowerCase()));
  for (const d of differences) {
    if (d.kind !== 'UM IP gateway' || !(d.change === 'added' || (d.change === 'changed' && d.fields!.some((f) => f.key === 'address')))) continue;
    const g = byName(dir.gateways, d.name, (x) => x.name);
    await checkGatewayAddress(g.address, `UM IP gateway ${g.name} (gateways[${dir.gateways.indexOf(g)}].address in ${source})`, opts.lookup);
  }
  // Hash first: scrypt takes a while, and the transaction below holds the store's write lock. A rehearsal stores nothing.
  const hashes = new Map<string, string>();
  for (const m of newMailboxes) {
    hashes.set(m.identity.toLowerCase(), opts.whatIf || m.pin === undefined ? 'unset' : await hashPin(m.pin, store.pinHashCost));
  }
  const applied = !opts.whatIf;
  if (opts.whatIf) return store.rehearse((s) => applyDifferences(s, dir, differences, hashes, applied));
  return store.atomically(async (s) => {
    const out = await applyDifferences(s, dir, differences, hashes, applied);
    await s.recordImportedDirectory(snapshot, source);
    return out;
  });
}

/** Makes the changes, one after another, on the transaction's view of the store. @returns the output objects */
async function applyDifferences(
  store: OpenedStore,
  dir: Directory,
  differences: readonly DirectoryDifference[],
  hashes: Map<string, string>,
  applied: boolean,
): Promise<OutputObject[]> {
  const out: OutputObject[] = [];
  const of = (kind: DirectoryDifference['kind']) => differences.filter((d) => d.kind === kind);
  // Dial plans first (policies and gateways name them), then policies (mailboxes name them), gateways, mailboxes.
  for (const d of of('dial plan')) {
    const plan = byName(dir.dialPlans, d.name, (x) => x.name);
    if (d.change === 'added') {
      await store.addDialPlan(plan);
      out.push(action('Add', d, `${plan.numberOfDigitsInExtension}-digit extensions; access numbers ${showValue(plan.accessNumbers)}`, applied));
    } else if (d.change === 'changed') {
      await store.updateDialPlan(d.name, plan);
      out.push(action('Change', d, changes(d.fields!), applied));
    }
  }
  for (const d of of('UM mailbox policy')) {
    const policy = byName(dir.mailboxPolicies, d.name, (x) => x.name);
    if (d.change === 'added') {
      await store.addPolicy(policy);
      out.push(action('Add', d, `dial plan ${policy.dialPlan}`, applied));
    } else if (d.change === 'changed') {
      const moved = d.fields!.find((f) => f.key === 'dialPlan');
      if (moved) {
        throw new VaError(
          ErrorCodes.INVALID_SETTING,
          `UM mailbox policy ${d.name}: its dial plan cannot change (file ${showValue(moved.file)}, store ${showValue(moved.base)}): give the policy another name`,
        );
      }
      await store.updatePolicy(d.name, policy);
      out.push(action('Change', d, changes(d.fields!), applied));
    }
  }
  for (const d of of('UM IP gateway')) {
    if (d.change === 'added') {
      const g = byName(dir.gateways, d.name, (x) => x.name);
      await store.newGateway(g);
      out.push(action('Add', d, `${g.address}:${g.port}, dial plan ${g.dialPlan}, ${g.status}`, applied));
    } else if (d.change === 'changed') {
      await store.updateGateway(d.name, byName(dir.gateways, d.name, (x) => x.name));
      out.push(action('Change', d, changes(d.fields!), applied));
    }
  }
  // New gateways went last; the file's order is the failover order of the gateways it names (the others follow).
  if (dir.gateways.length > 0 && (of('UM IP gateway').some((d) => d.change === 'order' || d.change === 'added'))) {
    const before = (await store.listGateways()).map((g) => g.name);
    await store.setGatewayOrder(dir.gateways.map((g) => g.name));
    const after = (await store.listGateways()).map((g) => g.name);
    if (before.join('\n') !== after.join('\n')) {
      out.push(action('Change', { kind: 'UM IP gateway', name: '', change: 'order' }, `failover order: ${before.join(', ')} -> ${after.join(', ')}`, applied));
    }
  }
  for (const d of of('mailbox')) {
    if (d.change === 'added') {
      const m: MailboxEntry = byName(dir.mailboxes, d.name, (x) => x.identity);
      await store.addDirectoryMailbox(m, hashes.get(m.identity.toLowerCase()) ?? 'unset');
      out.push(action('Add', d, `extension ${m.extension}, policy ${m.policy}${m.pin === undefined ? ', no PIN yet (Set-UMMailboxPIN)' : ''}`, applied));
    } else if (d.change === 'changed') {
      out.push(
        action(
          'Skip',
          d,
          `already in the store, kept as it is (Import-Directory adds new mailboxes only; Set-UMMailbox changes one): ${d.fields!.map((f) => f.key).join(', ')} differ`,
          false,
        ),
      );
    }
  }
  return out;
}

/** How a directory file differs from what a store was imported from. */
export interface DirectoryDrift {
  /** `imported`: compared with the snapshot kept at the import; `store`: the store predates snapshots, compared with its contents. */
  baseline: 'imported' | 'store';
  differences: DirectoryDifference[];
  /** The file the store was last imported from. */
  importedFrom?: string;
}

/**
 * Compares the directory file an app loaded with what its store was imported from (the snapshot kept at the import
 * or the last Import-Directory; for an older store without one, the store's own dial plans, policies, gateways and
 * mailboxes). PINs and PIN state are never compared.
 * @returns the differences (empty when the file is as imported)
 */
export async function directoryDrift(app: { directory: Directory; store: OpenedStore }): Promise<DirectoryDrift> {
  const imported = await app.store.importedSnapshot();
  const base: DirectorySnapshot = imported ?? (await app.store.snapshotOfStore());
  return {
    baseline: imported ? 'imported' : 'store',
    differences: diffSnapshots(snapshotOfDirectory(app.directory), base),
    importedFrom: await app.store.meta('imported_from'),
  };
}

/** A path as an operator typed it: `./data` under the working folder, else absolute. */
export function displayPath(p: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, p);
  if (rel === '') return '.';
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : `./${rel}`;
}

/** How many differences a warning's message names (all are in its `differences` field). */
const NAMED_IN_MESSAGE = 5;

/**
 * Logs, at a server's start, where its store comes from: `created a new store in ./data from config/contoso.yaml`
 * (info) when this start imported the file, or one warning naming how the file differs from what the store was
 * imported from (`dial plan "X" added in the file`, `UM IP gateway "gw1": address differs (...)`, `mailbox "z"
 * only in the file`), with every difference in its `differences` field and the Import-Directory command that applies
 * them. Nothing when the file is as imported.
 * @param app the opened app (its directory file, store, data folder, and whether this open imported)
 * @param logger the server's logger
 * @returns resolves once logged; never rejects: a store whose snapshot cannot be read gets a warning saying so.
 */
export async function reportStoreOrigin(
  app: { directory: Directory; store: OpenedStore; imported: boolean; dataDir: string; configPath: string },
  logger: Pick<Logger, 'info' | 'warn'>,
): Promise<void> {
  if (app.imported) {
    logger.info({ data: app.dataDir, directory: app.configPath }, `created a new store in ${displayPath(app.dataDir)} from ${displayPath(app.configPath)}`);
    return;
  }
  let drift: DirectoryDrift;
  try {
    drift = await directoryDrift(app);
  } catch (err) {
    logger.warn({ err }, 'could not compare the directory file with what the store was imported from');
    return;
  }
  if (drift.differences.length === 0) return;
  const lines = drift.differences.map((d) => describeDifference(d, drift.baseline));
  const named = lines.slice(0, NAMED_IN_MESSAGE).join('; ') + (lines.length > NAMED_IN_MESSAGE ? `; and ${lines.length - NAMED_IN_MESSAGE} more` : '');
  const since = drift.baseline === 'imported' ? 'what the store was imported from' : 'the store (which predates import snapshots)';
  logger.warn(
    { directory: app.configPath, importedFrom: drift.importedFrom, differences: lines },
    `the directory file differs from ${since}, and the store is used as it is: ${named}. ` +
      `To apply the file: voice-access Import-Directory ${displayPath(app.configPath)} -WhatIf --data ${displayPath(app.dataDir)}, then without -WhatIf`,
  );
}
