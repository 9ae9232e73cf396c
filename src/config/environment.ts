/**
 * The environment variables voice-access reads, in one place (issue 20: "the environment is read in one config
 * module"). Everything else gets the values from here; an empty variable counts as unset. Secrets read here are
 * never logged.
 */

/** The variables and what they stand for. */
export const ENV = {
  /** The data folder (`--data`). */
  data: 'VA_DATA',
  /** The directory file (`--config`). */
  config: 'VA_CONFIG',
  /** The store's URL (`--store`, `store.url`): a PostgreSQL database shared by several instances. */
  storeUrl: 'VA_STORE_URL',
  /** The least severe log lines written (`--log-level`). */
  logLevel: 'VA_LOG_LEVEL',
  /** drachtio-server's shared secret (`--drachtio-secret`, `sip.drachtio.secret`). */
  drachtioSecret: 'VA_DRACHTIO_SECRET',
  /** The FreeSWITCH event sockets' password (`--freeswitch-secret`, `media.freeswitch[].secret`). */
  freeswitchSecret: 'VA_FREESWITCH_SECRET',
} as const;

/** The values of {@link ENV} that are set (non-empty). */
export type Environment = { -readonly [K in keyof typeof ENV]?: string };

/**
 * Reads the variables of {@link ENV}.
 * @param env the environment (the process's by default; tests pass their own)
 */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const out: Environment = {};
  for (const [key, name] of Object.entries(ENV) as [keyof typeof ENV, string][]) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}
