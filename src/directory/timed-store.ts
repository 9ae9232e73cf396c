/**
 * The store's query time for `/metrics` (issue 21, `va_store_query_duration_seconds{operation}`): a proxy over an
 * opened store (SQLite or PostgreSQL) that times every call of the store port returning a promise, from the call to
 * its settling, labelled with the port's method (`getMailbox`, and `admin.findApiKeyByHash`,
 * `notifications.due`, `mwiDeliveries.claim` for its repositories): a small closed set, never a value.
 *
 * The methods run on the store itself (`this` is the store, not the proxy), so an adapter's internal calls are not
 * counted twice; everything else (properties, `instanceof`) is the store's. A method assigned through the proxy (a
 * test's stub) replaces the store's and is timed from then on.
 */
import { performance } from 'node:perf_hooks';
import { metrics } from '../metrics';

/** The store's repositories whose methods are timed too, by property. */
const REPOSITORIES = new Set<PropertyKey>(['admin', 'notifications', 'mwiDeliveries']);

/**
 * Wraps a store so that each of its asynchronous calls is observed in `va_store_query_duration_seconds`.
 * @param store the store (or one of its repositories); @param prefix the label's prefix for a repository (`admin.`)
 * @returns a proxy with the store's type
 */
export function timedStore<T extends object>(store: T, prefix = ''): T {
  const wrappers = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prefix === '' && REPOSITORIES.has(prop) && typeof value === 'object' && value !== null) {
        let repo = wrappers.get(prop);
        if (repo === undefined) wrappers.set(prop, (repo = timedStore(value, `${String(prop)}.`)));
        return repo;
      }
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value === target ? receiver : value;
      let wrapper = wrappers.get(prop);
      if (wrapper === undefined) {
        const operation = `${prefix}${prop}`;
        const fn = value as (...a: unknown[]) => unknown;
        wrapper = function timed(...args: unknown[]): unknown {
          const start = performance.now();
          const out = fn.apply(target, args);
          if (out instanceof Promise) {
            const done = () => metrics.storeQueryDuration.observe({ operation }, (performance.now() - start) / 1000);
            out.then(done, done);
          }
          return out;
        };
        wrappers.set(prop, wrapper);
      }
      return wrapper;
    },
    // A method replaced on the store (a test's stub, then the original put back) is wrapped afresh when next read.
    set(target, prop, value) {
      wrappers.delete(prop);
      return Reflect.set(target, prop, value, target);
    },
    defineProperty(target, prop, descriptor) {
      wrappers.delete(prop);
      return Reflect.defineProperty(target, prop, descriptor);
    },
  });
}
