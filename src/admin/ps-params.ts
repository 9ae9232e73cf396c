/**
 * PowerShell-style cmdlet parameters on a POSIX command line: `-Identity tony@contoso.com`, `-PinExpired $false`,
 * `-PinExpired:$false`, switches (`-SendEmail`), lists (`-AccessTelephoneNumbers +14255550100,+14255550101`),
 * `Unlimited` for unlimited integers, `$null` to clear a parameter that allows it (`nullable`), and the first
 * positional value as `-Identity`. Parameter names are case-insensitive and, as in PowerShell, may be shortened to
 * any unambiguous prefix.
 * Nothing is changed by a cmdlet when parsing fails: every error is thrown before the cmdlet runs.
 */
import { ErrorCodes, VaError } from '../errors';

/** The value type of a parameter. */
export type ParamType =
  | { kind: 'string'; maxLength?: number; pattern?: RegExp; patternText?: string }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'unlimitedInt'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'switch' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'stringList'; itemPattern?: RegExp; itemPatternText?: string };

/** One parameter of a cmdlet. */
export interface ParamSpec {
  /** Microsoft's spelling, e.g. `PinExpired`. */
  name: string;
  type: ParamType;
  required?: boolean;
  /** Accepts a value given without a name at this position (0-based). */
  position?: number;
  /** One line for help text. */
  help?: string;
  /** `$null` is accepted and parsed as null: the setting is cleared (its default applies again). */
  nullable?: boolean;
}

/** Parsed values by the spec's exact parameter name (null: `$null` given to a nullable parameter). */
export type ParamValues = Record<string, string | number | boolean | string[] | 'Unlimited' | null>;

function paramError(message: string): VaError {
  return new VaError(ErrorCodes.CLI_PARAMETER, message);
}

const BOOL_TRUE = new Set(['$true', 'true', '1']);
const BOOL_FALSE = new Set(['$false', 'false', '0']);

/** Converts one raw token to a parameter's type. @throws VaError VA_ERR_CLI_PARAMETER naming the parameter */
export function convertValue(spec: ParamSpec, raw: string): ParamValues[string] {
  const t = spec.type;
  const bad = (why: string) => paramError(`-${spec.name}: ${why}`);
  if (raw.toLowerCase() === '$null') {
    if (spec.nullable) return null;
    throw bad('cannot be $null');
  }
  switch (t.kind) {
    case 'string':
      if (raw === '') throw bad('needs a value');
      if (t.maxLength !== undefined && raw.length > t.maxLength) throw bad(`at most ${t.maxLength} characters`);
      if (t.pattern && !t.pattern.test(raw)) throw bad(t.patternText ?? `does not match ${t.pattern}`);
      return raw;
    case 'int':
    case 'unlimitedInt': {
      if (t.kind === 'unlimitedInt' && raw.toLowerCase() === 'unlimited') return 'Unlimited';
      if (!/^-?[0-9]+$/.test(raw)) throw bad(`"${raw}" is not a whole number${t.kind === 'unlimitedInt' ? ' or Unlimited' : ''}`);
      const n = Number(raw);
      if (n < t.min || n > t.max) throw bad(`must be between ${t.min} and ${t.max}${t.kind === 'unlimitedInt' ? ', or Unlimited' : ''}`);
      return n;
    }
    case 'bool':
    case 'switch': {
      const v = raw.toLowerCase();
      if (BOOL_TRUE.has(v)) return true;
      if (BOOL_FALSE.has(v)) return false;
      throw bad(`"${raw}" is not a Boolean: use $true or $false`);
    }
    case 'enum': {
      const hit = t.values.find((v) => v.toLowerCase() === raw.toLowerCase());
      if (!hit) throw bad(`"${raw}" is not one of ${t.values.join(', ')}`);
      return hit;
    }
    case 'stringList': {
      const items = raw
        .split(',')
        .map((s) => s.trim().replace(/^["']|["']$/g, ''))
        .filter((s) => s !== '');
      for (const it of items) if (t.itemPattern && !t.itemPattern.test(it)) throw bad(`"${it}": ${t.itemPatternText ?? 'invalid item'}`);
      return items;
    }
  }
}

/** Finds the spec for a typed name: exact (case-insensitive) match first, then a unique prefix. */
function lookup(specs: readonly ParamSpec[], typed: string, cmdlet: string): ParamSpec {
  const lower = typed.toLowerCase();
  const exact = specs.find((s) => s.name.toLowerCase() === lower);
  if (exact) return exact;
  const prefixed = specs.filter((s) => s.name.toLowerCase().startsWith(lower));
  if (prefixed.length === 1) return prefixed[0];
  if (prefixed.length > 1)
    throw paramError(`${cmdlet}: -${typed} is ambiguous: it could be ${prefixed.map((s) => `-${s.name}`).join(', ')}`);
  throw paramError(`${cmdlet}: a parameter cannot be found that matches parameter name '${typed}'. Parameters: ${specs.map((s) => `-${s.name}`).join(' ')}`);
}

/**
 * Parses a cmdlet's arguments.
 * @param cmdlet the cmdlet name, for messages
 * @param specs its parameters
 * @param args the tokens after the cmdlet name (global `--` options already removed)
 * @throws VaError VA_ERR_CLI_PARAMETER: unknown, ambiguous, repeated or missing parameter, or an invalid value
 */
export function parseParams(cmdlet: string, specs: readonly ParamSpec[], args: readonly string[]): ParamValues {
  const values: ParamValues = {};
  let position = 0;
  for (let i = 0; i < args.length; i++) {
    const tok = args[i];
    if (tok.startsWith('-') && tok.length > 1 && !/^-[0-9]/.test(tok)) {
      const colon = tok.indexOf(':');
      const typed = colon > 0 ? tok.slice(1, colon) : tok.slice(1);
      const spec = lookup(specs, typed, cmdlet);
      if (spec.name in values) throw paramError(`${cmdlet}: -${spec.name} is given more than once`);
      let raw: string | undefined;
      if (colon > 0) raw = tok.slice(colon + 1);
      else if (spec.type.kind === 'switch') raw = '$true';
      else {
        raw = args[i + 1];
        if (raw === undefined) throw paramError(`${cmdlet}: -${spec.name} needs a value`);
        i++;
      }
      values[spec.name] = convertValue(spec, raw);
    } else {
      const spec = specs.find((s) => s.position === position && !(s.name in values));
      if (!spec) throw paramError(`${cmdlet}: a positional parameter cannot be found that accepts argument '${tok}'`);
      values[spec.name] = convertValue(spec, tok);
      position++;
    }
  }
  const missing = specs.filter((s) => s.required && !(s.name in values));
  if (missing.length) throw paramError(`${cmdlet}: missing required parameter ${missing.map((s) => `-${s.name}`).join(', ')}`);
  return values;
}
