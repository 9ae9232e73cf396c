/**
 * What a store was imported from: the directory file's dial plans, UM IP gateways, UM mailbox policies and mailboxes,
 * kept in the store's `meta` table at the import (and at each `Import-Directory`), so that `serve` can say at start
 * how the file has changed since (issue 19, "Operators are not surprised"). A snapshot never holds a PIN, and no
 * per-mailbox PIN state (PinExpired, FirstTimeUser, LockedOut): those are initial values that only mean something at
 * the import, and the store's own change with every sign-in. Conferencing and the settings read at every start
 * (`mail`, `security`, `ivr`, `notifications`, `sip`, `media`) are not part of it.
 */
import type { DialPlan, Directory, Gateway, MailboxPolicy } from '../config/schema';

/** A mailbox as the directory file describes it, without its PIN and PIN state. */
export interface MailboxSnapshot {
  identity: string;
  displayName: string;
  extension: string;
  policy: string;
  smsNotificationOption: string;
  mobileNumber: string | null;
  language: string | null;
}

/** The directory objects of one directory file (or store), in file order. */
export interface DirectorySnapshot {
  dialPlans: DialPlan[];
  /** In failover order. */
  gateways: Gateway[];
  mailboxPolicies: MailboxPolicy[];
  mailboxes: MailboxSnapshot[];
}

/** The kinds of object a snapshot holds, as messages name them. */
export type SnapshotKind = 'dial plan' | 'UM IP gateway' | 'UM mailbox policy' | 'mailbox';

/** One setting whose value differs. */
export interface FieldDifference {
  key: string;
  /** The value in the directory file. */
  file: unknown;
  /** The value in the baseline (what the store was imported from, or the store itself). */
  base: unknown;
}

/** How the directory file differs from a baseline for one object (or the gateways' failover order). */
export interface DirectoryDifference {
  kind: SnapshotKind;
  /** The object's name or identity; for `order`, the gateways in the file's order. */
  name: string;
  /** `added`: only in the file; `removed`: only in the baseline; `changed`: `fields` differ; `order`: failover order. */
  change: 'added' | 'removed' | 'changed' | 'order';
  fields?: FieldDifference[];
  /** `order` only: the baseline's order of the gateways both have. */
  baseOrder?: string[];
}

/** The snapshot of a validated directory (PINs and PIN state left out). */
export function snapshotOfDirectory(dir: Pick<Directory, 'dialPlans' | 'gateways' | 'mailboxPolicies' | 'mailboxes'>): DirectorySnapshot {
  return {
    dialPlans: dir.dialPlans.map((d) => ({ ...d })),
    gateways: dir.gateways.map((g) => ({ ...g })),
    mailboxPolicies: dir.mailboxPolicies.map((p) => ({ ...p })),
    mailboxes: dir.mailboxes.map((m) => ({
      identity: m.identity,
      displayName: m.displayName,
      extension: m.extension,
      policy: m.policy,
      smsNotificationOption: m.smsNotificationOption,
      mobileNumber: m.mobileNumber ?? null,
      language: m.language ?? null,
    })),
  };
}

/** Equal settings values: primitives, lists of them (in order); absent and null are the same (no value). */
function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a === undefined || a === null) return b === undefined || b === null;
  return a === b;
}

/** Names compare case-insensitively, as the store's columns do (`COLLATE NOCASE`). */
const keyOf = (s: string) => s.toLowerCase();

/** Keys whose values name other objects, compared case-insensitively. */
const NAME_KEYS = new Set(['dialPlan', 'policy', 'name', 'identity']);

/**
 * The settings that differ between two versions of one object, in the file's key order.
 * @param file the directory file's object; @param base the baseline's
 */
export function fieldDifferences(file: object, base: object): FieldDifference[] {
  const f = file as Record<string, unknown>;
  const b = base as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(f), ...Object.keys(b)])];
  return keys
    .filter((k) => {
      if (NAME_KEYS.has(k) && typeof f[k] === 'string' && typeof b[k] === 'string') return keyOf(f[k] as string) !== keyOf(b[k] as string);
      return !same(f[k], b[k]);
    })
    .map((k) => ({ key: k, file: f[k], base: b[k] }));
}

function diffList<T>(kind: SnapshotKind, file: readonly T[], base: readonly T[], nameOf: (t: T) => string): DirectoryDifference[] {
  const out: DirectoryDifference[] = [];
  const baseByKey = new Map(base.map((t) => [keyOf(nameOf(t)), t]));
  const fileKeys = new Set(file.map((t) => keyOf(nameOf(t))));
  for (const t of file) {
    const b = baseByKey.get(keyOf(nameOf(t)));
    if (!b) out.push({ kind, name: nameOf(t), change: 'added' });
    else {
      const fields = fieldDifferences(t as object, b as object);
      if (fields.length) out.push({ kind, name: nameOf(t), change: 'changed', fields });
    }
  }
  for (const b of base) if (!fileKeys.has(keyOf(nameOf(b)))) out.push({ kind, name: nameOf(b), change: 'removed' });
  return out;
}

/**
 * How the directory file differs from a baseline: objects added in the file, removed from it, or with settings
 * that differ, per kind (dial plans, UM mailbox policies, UM IP gateways, mailboxes), and the gateways' failover
 * order when the gateways both hold come in another order.
 * @param file the directory file's snapshot; @param base what the store was imported from (or the store)
 * @returns the differences, empty when none
 */
export function diffSnapshots(file: DirectorySnapshot, base: DirectorySnapshot): DirectoryDifference[] {
  const out = [
    ...diffList('dial plan', file.dialPlans, base.dialPlans, (d) => d.name),
    ...diffList('UM mailbox policy', file.mailboxPolicies, base.mailboxPolicies, (p) => p.name),
    ...diffList('UM IP gateway', file.gateways, base.gateways, (g) => g.name),
    ...diffList('mailbox', file.mailboxes, base.mailboxes, (m) => m.identity),
  ];
  const baseKeys = new Set(base.gateways.map((g) => keyOf(g.name)));
  const fileKeys = new Set(file.gateways.map((g) => keyOf(g.name)));
  const fileOrder = file.gateways.map((g) => g.name).filter((n) => baseKeys.has(keyOf(n)));
  const baseOrder = base.gateways.map((g) => g.name).filter((n) => fileKeys.has(keyOf(n)));
  if (fileOrder.some((n, i) => keyOf(n) !== keyOf(baseOrder[i]))) {
    out.push({ kind: 'UM IP gateway', name: fileOrder.join(', '), change: 'order', baseOrder });
  }
  return out;
}

/** A value as messages show it: lists comma-separated, nothing as `(none)`. */
export function showValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return '(none)';
  if (Array.isArray(v)) return v.length ? v.map(showValue).join(', ') : '(none)';
  return String(v);
}

/**
 * One difference as a sentence for the log or the console, e.g. `dial plan "Fabrikam-DP" added in the file`,
 * `UM IP gateway "gw1": address differs (file 10.0.0.9, imported 127.0.0.1)`, `mailbox "z@contoso.com" only in
 * the file`.
 * @param baseName what the baseline is called in the sentence: `imported` (the snapshot) or `store`
 */
export function describeDifference(d: DirectoryDifference, baseName = 'imported'): string {
  const what = `${d.kind} "${d.name}"`;
  switch (d.change) {
    case 'added':
      return d.kind === 'mailbox' ? `${what} only in the file (added after the import)` : `${what} added in the file`;
    case 'removed':
      return `${what} removed from the file (still in the store)`;
    case 'order':
      return `UM IP gateways: failover order differs (file ${d.name}; ${baseName} ${(d.baseOrder ?? []).join(', ')})`;
    case 'changed':
      return `${what}: ${(d.fields ?? [])
        .map((f) => `${f.key} differs (file ${showValue(f.file)}, ${baseName} ${showValue(f.base)})`)
        .join('; ')}`;
  }
}

/** A store's directory objects as they are read for a snapshot (`snapshotOfStore`). */
export interface StoredDirectoryObjects {
  dialPlans: readonly DialPlan[];
  gateways: readonly Gateway[];
  mailboxPolicies: readonly MailboxPolicy[];
  mailboxes: ReadonlyArray<Pick<MailboxSnapshot, 'identity' | 'displayName' | 'extension' | 'policy' | 'smsNotificationOption' | 'mobileNumber' | 'language'>>;
}

/**
 * The snapshot of what a store holds now (dial plans, gateways in failover order, policies, mailboxes), to compare a
 * directory file with: the same for every store adapter.
 */
export function snapshotOfStoredObjects(o: StoredDirectoryObjects): DirectorySnapshot {
  return {
    dialPlans: o.dialPlans.map((d) => ({ ...d })),
    gateways: o.gateways.map((g) => ({ ...g })),
    mailboxPolicies: o.mailboxPolicies.map((p) => ({ ...p })),
    mailboxes: o.mailboxes.map((m) => ({
      identity: m.identity,
      displayName: m.displayName,
      extension: m.extension,
      policy: m.policy,
      smsNotificationOption: m.smsNotificationOption,
      mobileNumber: m.mobileNumber,
      language: m.language,
    })),
  };
}
