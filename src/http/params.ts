/**
 * Cmdlet parameters over HTTP: a request's query or JSON body names the cmdlet's parameters as Microsoft spells them
 * (`Pin`, `PinExpired`, `SendEmail`...). The JSON schema fastify validates with, and `/openapi.json` shows, is made
 * from the cmdlet's own {@link ParamSpec}s; each value is then converted by the CLI's own {@link convertValue}, so
 * the HTTP API accepts and refuses exactly what the command line does, with the same `VA_ERR_CLI_PARAMETER` messages.
 */
import { convertValue, type ParamSpec, type ParamValues } from '../admin/ps-params';
import { ErrorCodes, VaError } from '../errors';

/** A JSON schema (the subset used here). */
export type JsonSchema = Record<string, unknown>;

/** Where the parameters are: a query string has strings only (lists comma-separated), a JSON body typed values. */
export type ParamPlace = 'query' | 'body';

/** The JSON schema of one parameter. */
export function paramSchema(spec: ParamSpec, place: ParamPlace): JsonSchema {
  const t = spec.type;
  const described = (s: JsonSchema): JsonSchema => (spec.help ? { ...s, description: spec.help } : s);
  switch (t.kind) {
    case 'string':
      return described({ type: 'string', minLength: 1, ...(t.maxLength !== undefined ? { maxLength: t.maxLength } : {}), ...(t.pattern ? { pattern: t.pattern.source } : {}) });
    case 'int':
      return described({ type: 'integer', minimum: t.min, maximum: t.max });
    case 'unlimitedInt':
      return described({ anyOf: [{ type: 'integer', minimum: t.min, maximum: t.max }, { type: 'string', enum: ['Unlimited'] }] });
    case 'bool':
    case 'switch':
      return described({ type: 'boolean' });
    case 'enum':
      return described({ type: 'string', enum: [...t.values] });
    case 'stringList':
      return described(place === 'query' ? { type: 'string', description: `${spec.help ?? ''} (comma-separated)`.trim() } : { type: 'array', items: { type: 'string', ...(t.itemPattern ? { pattern: t.itemPattern.source } : {}) } });
  }
}

/** The JSON schema of an object of parameters (no other property allowed). */
export function paramsSchema(specs: readonly ParamSpec[], place: ParamPlace): JsonSchema {
  const required = specs.filter((s) => s.required).map((s) => s.name);
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(specs.map((s) => [s.name, paramSchema(s, place)])),
    ...(required.length > 0 ? { required } : {}),
  };
}

/**
 * The cmdlet's values from a request's (already schema-checked) query or body.
 * @throws VaError VA_ERR_CLI_PARAMETER naming the parameter (`-Pin: must contain only the digits 0-9`)
 */
export function valuesOf(specs: readonly ParamSpec[], input: Record<string, unknown> | undefined): ParamValues {
  const out: ParamValues = {};
  for (const [name, v] of Object.entries(input ?? {})) {
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new VaError(ErrorCodes.CLI_PARAMETER, `${name}: not a parameter of this request`);
    if (v === undefined) continue;
    if (typeof v === 'boolean' && (spec.type.kind === 'bool' || spec.type.kind === 'switch')) out[name] = v;
    else if (Array.isArray(v)) out[name] = convertValue(spec, v.map(String).join(','));
    else if (v === null) out[name] = convertValue(spec, '$null');
    else out[name] = convertValue(spec, String(v));
  }
  for (const s of specs) if (s.required && out[s.name] === undefined) throw new VaError(ErrorCodes.CLI_PARAMETER, `-${s.name} is required`);
  return out;
}
