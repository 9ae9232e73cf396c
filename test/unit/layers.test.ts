/**
 * The dependency rule of DESIGN.md ("Layers"), as far as the code keeps it today, checked on the import statements
 * of every source file: flows import only flow-kit, domain and xstate; flow-kit and domain import nothing of the
 * adapters, the runtime or `config/`; services import only the ports, domain and errors (and node built-ins); ports
 * import only types, of domain, errors and other ports; nobody outside `sip/drachtio/` sees drachtio-srf, nobody
 * outside `media/freeswitch/` drachtio-fsmrf, nobody outside `sip/embedded/` the `sip` package; outside
 * `directory/` and the composition root (`app.ts`), nobody imports a store adapter's classes (only the ports).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { ROOT } from '../helpers';

/** Every .ts file below `dir` (relative to the repository root). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.posix.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** What a file imports: package names, or repository paths (without extension) for relative imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm), ...text.matchAll(/require\('([^']+)'\)/g)].map((m) => m[1]);
  return specs.map((s) => (s.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), s)) : s));
}

/** The value (not type-only) imports of a file of our own: `import type`/`export type` statements are left out. */
function valueImportsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(import|export)\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)]
    .map((m) => m[2])
    .filter((s) => s.startsWith('.'))
    .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)));
}

/** The imports of the files below `dir` that `allowed` refuses, as `file -> import`. */
function violations(dir: string, allowed: (spec: string, file: string) => boolean): string[] {
  return sources(dir).flatMap((f) => importsOf(f).filter((s) => !allowed(s, f)).map((s) => `${f} -> ${s}`));
}

const inside = (spec: string, ...dirs: string[]) => dirs.some((d) => spec === d || spec.startsWith(`${d}/`));

test('flows import only flow-kit, domain, each other and xstate', () => {
  expect(violations('flows', (s) => inside(s, 'src/flow-kit', 'src/domain', 'flows') || s === 'xstate')).toEqual([]);
});

test('flow-kit and domain import nothing of config, the store, the runtime or an adapter', () => {
  const pure = (s: string) => !s.startsWith('src/') || inside(s, 'src/flow-kit', 'src/domain', 'src/errors');
  expect(violations('src/flow-kit', pure)).toEqual([]);
  expect(violations('src/domain', pure)).toEqual([]);
});

test('services import only ports, domain, errors and node built-ins', () => {
  const builtin = (s: string) => s.startsWith('node:') || builtinModules.includes(s);
  const allowed = (s: string) => inside(s, 'src/ports', 'src/domain', 'src/errors') || builtin(s);
  expect(violations('src/services', allowed)).toEqual([]);
});

/**
 * Imports of a port from outside domain, errors and the ports, kept for now: the channel's request and result types
 * live in flow-kit (flows build the requests), which imports only domain.
 */
const PORT_EXCEPTIONS = new Set(['src/ports/call-channel.ts -> src/flow-kit/media-types']);

test('ports import only types, of domain, errors and other ports', () => {
  const outside = violations('src/ports', (s) => inside(s, 'src/ports', 'src/domain', 'src/errors'));
  expect(outside.filter((v) => !PORT_EXCEPTIONS.has(v))).toEqual([]);
  // Every import of a port is `import type`/`export type` (a port file may still define a value, `clock.ts`'s
  // `systemClock`, but it imports none).
  const values = sources('src/ports').flatMap((f) => valueImportsOf(f).map((s) => `${f} -> ${s}`));
  expect(values).toEqual([]);
});

test('drachtio-srf only in sip/drachtio, drachtio-fsmrf only in media/freeswitch, the sip package only in sip/embedded', () => {
  const outside = (pkg: string, dir: string) =>
    sources('src')
      .filter((f) => !f.startsWith(`${dir}/`))
      .flatMap((f) => importsOf(f).filter((s) => s === pkg || s.startsWith(`${pkg}/`)).map((s) => `${f} -> ${s}`));
  expect(outside('drachtio-srf', 'src/sip/drachtio')).toEqual([]);
  expect(outside('drachtio-fsmrf', 'src/media/freeswitch')).toEqual([]);
  expect(outside('sip', 'src/sip/embedded')).toEqual([]);
});

/**
 * What code outside the store adapters may import of `directory/`: the adapter-side port (`opened-store`: the store
 * with its directory import) and the pure helpers of the directory file (its snapshots and the check of its initial
 * PINs). Never the SQLite (or PostgreSQL) classes, their connection or their watch: only the composition root
 * (`src/app.ts`) opens a store; everything else sees the ports (DESIGN.md, "Layers").
 */
const DIRECTORY_PUBLIC = new Set(['src/directory/opened-store', 'src/directory/directory-snapshot', 'src/directory/directory-pins']);

test('outside directory/ and app.ts, only the store ports and the directory file helpers of directory/ are imported', () => {
  const outside = sources('src').filter((f) => !f.startsWith('src/directory/') && f !== 'src/app.ts');
  const bad = outside.flatMap((f) =>
    importsOf(f)
      .filter((s) => inside(s, 'src/directory') && !DIRECTORY_PUBLIC.has(s))
      .map((s) => `${f} -> ${s}`),
  );
  expect(bad).toEqual([]);
  // Nor is a concrete store class named there (a type import from a re-export would hide it from the rule above).
  const named = outside.filter((f) => /\b(DirectoryStore|NotificationStore|MwiDeliveryStore|PostgresStore|Sqlite[A-Za-z]+Repository)\b/.test(readFileSync(path.join(ROOT, f), 'utf8')));
  expect(named).toEqual([]);
});

test('the checks read real imports (a rule that cannot fail is no rule)', () => {
  expect(importsOf('src/app.ts')).toContain('src/directory/store');
  expect(importsOf('flows/sign-in.flow.ts')).toContain('xstate');
  expect(importsOf('src/sip/drachtio/drachtio-srf.ts').some((s) => s.startsWith('drachtio-srf'))).toBe(true);
  expect(importsOf('flows/sign-in.flow.ts')).toContain('src/domain/locale');
  expect(importsOf('src/services/pin-service.ts')).toContain('src/ports/store/mailboxes');
  expect(importsOf('src/services/pin-service.ts')).toContain('src/domain/pin-hash');
  expect(valueImportsOf('src/services/pin-service.ts')).toContain('src/domain/pin-hash');
  expect(valueImportsOf('src/services/pin-service.ts')).not.toContain('src/ports/store/mailboxes');
});
