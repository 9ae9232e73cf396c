/**
 * An instant as a wall clock in a time zone shows it (Intl, the runtime's time-zone data): what the spoken envelope
 * time and the voice-mail attachment's name are made of. One formatter per time zone, made on first use.
 */

/** The fields of a wall-clock reading, zero-padded: `2025`, `01`, `06`, `09`, `05`, `00` (hours 00-23). */
export interface WallClock {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

const formatters = new Map<string | undefined, Intl.DateTimeFormat>();

function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    const options = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' } as const;
    f = new Intl.DateTimeFormat('en-US', { ...options, hourCycle: 'h23', timeZone });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Reads an instant on the wall clock of a time zone.
 * @param at ms since the epoch
 * @param timeZone an IANA name (`UTC`, `Europe/Paris`); the process's (`TZ`) when undefined
 * @throws RangeError for a time zone the runtime does not know
 */
export function wallClock(at: number, timeZone?: string): WallClock {
  const out: WallClock = { year: '', month: '', day: '', hour: '', minute: '', second: '' };
  for (const p of formatter(timeZone).formatToParts(at)) if (p.type in out) out[p.type as keyof WallClock] = p.value;
  return out;
}
