/**
 * What the composition root and the cmdlets get from opening a store, whichever database it is on: the {@link Store}
 * port (all that services, runtime and notifications see) plus the directory file's import and snapshots, which know
 * the file's schema (`config/`) and so stay on the adapters' side of the ports.
 */
import type { Directory } from '../config/schema';
import type { Store } from '../ports/store';
import type { DirectorySnapshot } from './directory-snapshot';

/** The directory import and the snapshots that tell how a directory file differs from the store (Import-Directory). */
export interface DirectoryImport {
  /** True once a directory file has been imported into this store. */
  isImported(): Promise<boolean>;
  /**
   * Imports a validated directory into an empty store: the first start. Safe against concurrent first starts of
   * several instances: only one imports.
   * @returns true when this call imported, false when the store already held a directory
   * @throws VaError VA_ERR_PIN_POLICY (an initial PIN breaks its policy; nothing imported)
   */
  importDirectory(dir: Directory, source: string): Promise<boolean>;
  /** What the store was last imported from; undefined for a store imported before snapshots were kept. */
  importedSnapshot(): Promise<DirectorySnapshot | undefined>;
  /** Records that the store now reflects this directory file (after `Import-Directory` applied it). */
  recordImportedDirectory(snapshot: DirectorySnapshot, source: string): Promise<void>;
  /** The store's own directory objects as a snapshot, to compare a directory file with. */
  snapshotOfStore(): Promise<DirectorySnapshot>;
  /**
   * Runs `fn` against a view of the store inside one transaction that is always rolled back: every check the
   * changes make runs, nothing stays (`Import-Directory -WhatIf`). Meant for a cmdlet's own connection: other users
   * of the same store object must not write meanwhile.
   * @returns what `fn` returned; @throws whatever `fn` throws
   */
  rehearse<T>(fn: (store: OpenedStore) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` against a view of the store inside one transaction, committed when `fn` resolves and rolled back when
   * it throws: every change `fn` makes stays, or none (`Import-Directory` without -WhatIf: a rule broken halfway
   * leaves the store as it was). The same caveat as {@link rehearse}: meant for a cmdlet's own connection.
   * @returns what `fn` returned; @throws whatever `fn` throws (nothing is then changed)
   */
  atomically<T>(fn: (store: OpenedStore) => Promise<T>): Promise<T>;
}

/** An open store with its directory import: SQLite's `DirectoryStore` or PostgreSQL's `PostgresStore`. */
export type OpenedStore = Store & DirectoryImport;
