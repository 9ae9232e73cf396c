/**
 * UM mailbox policies, UM dial plans and UM IP gateways: a list of each (the Get- cmdlet's objects) and a page per
 * object that shows its main settings, and, for a role with the um right, edits them. The form is made from the Set-
 * cmdlet's own parameter specs and each changed value goes through the command line's own converter
 * (`convertValue`), then the Set- cmdlet runs (audited): the same validation messages as `Set-UMMailboxPolicy`,
 * `Set-UMDialPlan` and `Set-UMIPGateway` (`-MinPINLength: must be between 4 and 24`), shown beside the field.
 * Only the fields whose value changed are passed, so the audit log names what the administrator changed.
 */
import { findCmdlet } from '../../admin/cmdlets';
import type { OutputObject } from '../../admin/ps-format';
import { convertValue, type ParamSpec, type ParamValues } from '../../admin/ps-params';
import { isVaError } from '../../errors';
import { html, seg, type SafeHtml } from './html';
import type { FormFields, WebKit } from './kit';
import { csrfField, page, settingsList, valueText, WEB_BASE, type PageContext } from './layout';
import { FIELD_LABELS, type StringKey } from './strings';

/** One kind of object the pages edit. */
interface SettingsKind {
  /** The path under /admin and the navigation entry. */
  section: 'policies' | 'dialplans' | 'gateways';
  title: StringKey;
  get: string;
  set: string;
  /** The list's columns and the edit form's fields: Set- parameters, named as the Get- objects name them. */
  fields: readonly string[];
}

const KINDS: readonly SettingsKind[] = [
  {
    section: 'policies',
    title: 'navPolicies',
    get: 'Get-UMMailboxPolicy',
    set: 'Set-UMMailboxPolicy',
    fields: ['MinPINLength', 'PINLifetime', 'PINHistoryCount', 'AllowCommonPatterns', 'LogonFailuresBeforePINReset', 'MaxLogonAttempts', 'AllowMessageWaitingIndicator', 'AllowSMSNotification'],
  },
  {
    section: 'dialplans',
    title: 'navDialPlans',
    get: 'Get-UMDialPlan',
    set: 'Set-UMDialPlan',
    fields: ['NumberOfDigitsInExtension', 'AccessTelephoneNumbers', 'VoIPSecurity', 'DefaultLanguage', 'LogonFailuresBeforeDisconnect', 'InputFailuresBeforeDisconnect', 'MaxRecordingDuration', 'RecordingIdleTimeout'],
  },
  {
    section: 'gateways',
    title: 'navGateways',
    get: 'Get-UMIPGateway',
    set: 'Set-UMIPGateway',
    fields: ['Address', 'Port', 'UMDialPlan', 'MessageWaitingIndicatorAllowed', 'Status'],
  },
];

/**
 * A Get- object's value as the form shows it: booleans `true`/`false`, lists comma-separated, a PINLifetime time span
 * (`60.00:00:00`) as its days, null as empty.
 */
export function formValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return v.map(String).join(', ');
  return String(v).replace(/^(\d+)\.00:00:00$/, '$1');
}

/** The Set- cmdlet's spec of each field. @throws Error when a field is not a parameter (a programming error) */
function specsOf(kind: SettingsKind): ParamSpec[] {
  const cmdlet = findCmdlet(kind.set);
  return kind.fields.map((f) => {
    const spec = cmdlet?.params.find((p) => p.name === f);
    if (!spec) throw new Error(`${kind.set} has no -${f}`);
    return spec;
  });
}

/**
 * The changed values of a posted form, converted by the cmdlet's rules; or the messages of the fields refused.
 * A checkbox posts a hidden `false` and, when checked, `true` after it (the last value counts).
 */
export function changedValues(specs: readonly ParamSpec[], current: OutputObject, form: FormFields): { values: ParamValues; errors: Record<string, string> } {
  const values: ParamValues = {};
  const errors: Record<string, string> = {};
  for (const spec of specs) {
    const posted = form[spec.name];
    if (posted === undefined) continue;
    const typed = posted.trim();
    if (typed === formValue(current[spec.name])) continue;
    try {
      values[spec.name] = convertValue(spec, typed);
    } catch (err) {
      if (!isVaError(err)) throw err;
      errors[spec.name] = err.message;
    }
  }
  return { values, errors };
}

/** One field of the edit form, with its label, Microsoft's parameter name and the message when refused. */
function field(ctx: PageContext, spec: ParamSpec, value: string, error: string | undefined): SafeHtml {
  const label = FIELD_LABELS[ctx.locale][spec.name] ?? spec.name;
  const id = `f-${spec.name}`;
  const t = spec.type;
  let input: SafeHtml;
  if (t.kind === 'bool') {
    input = html`<input type="hidden" name="${spec.name}" value="false"><input type="checkbox" name="${spec.name}" id="${id}" value="true"${value === 'true' ? html` checked` : ''}>`;
  } else if (t.kind === 'enum') {
    input = html`<select name="${spec.name}" id="${id}">${t.values.map((v) => html`<option value="${v}"${v.toLowerCase() === value.toLowerCase() ? html` selected` : ''}>${v}</option>`)}</select>`;
  } else {
    // Text, not type=number: the server checks the value with the cmdlet's rules and shows its message.
    input = html`<input type="text" name="${spec.name}" id="${id}" value="${value}"${t.kind === 'int' ? html` inputmode="numeric"` : ''}${t.kind === 'unlimitedInt' ? html` placeholder="${ctx.t.whenUnlimited}"` : ''}>`;
  }
  return html`<div class="field${error ? ' invalid' : ''}" data-param="${spec.name}">
  <label for="${id}">${label}<span class="param">-${spec.name}</span></label>
  ${input}
  ${error ? html`<p class="field-error" role="alert">${error}</p>` : ''}
</div>`;
}

/** Registers the list and edit pages of policies, dial plans and gateways. */
export function registerSettingsPages(kit: WebKit): void {
  for (const kind of KINDS) {
    const base = `${WEB_BASE}/${kind.section}`;
    const specs = specsOf(kind);

    kit.page(`/${kind.section}`, async (ctx, req) => {
      const { t } = ctx;
      const list = await kit.run(ctx, req, kind.get, {});
      return page(ctx, {
        title: t[kind.title],
        section: kind.section,
        body: html`<table id="${kind.section}">
  <thead><tr><th>${t.name}</th>${kind.fields.map((f) => html`<th title="-${f}">${FIELD_LABELS[ctx.locale][f] ?? f}</th>`)}</tr></thead>
  <tbody>${list.map(
    (o) => html`<tr data-name="${String(o.Name)}"><td><a href="${base}/${seg(String(o.Name))}">${String(o.Name)}</a></td>${kind.fields.map((f) => html`<td>${valueText(t, o[f])}</td>`)}</tr>`,
  )}</tbody>
</table>`,
      });
    });

    const editPage = (ctx: PageContext, o: OutputObject, posted?: FormFields, errors: Record<string, string> = {}, message?: string): SafeHtml => {
      const { t } = ctx;
      const name = String(o.Name);
      const body = ctx.can('um')
        ? html`<form method="post" action="${base}/${seg(name)}" class="edit" novalidate>
  ${csrfField(ctx)}
  ${specs.map((s) => field(ctx, s, posted?.[s.name] ?? formValue(o[s.name]), errors[s.name]))}
  <div class="actions"><button type="submit" id="save">${t.save}</button> <a href="${base}">${t.cancel}</a></div>
</form>`
        : settingsList(kind.fields.map((f) => [FIELD_LABELS[ctx.locale][f] ?? f, valueText(t, o[f])] as const), 'settings');
      const error = message ?? (Object.keys(errors).length ? t.errorsBelow : undefined);
      return page(ctx, { title: `${t[kind.title]}: ${name}`, section: kind.section, flash: error ? { kind: 'error', text: error } : undefined, body });
    };

    kit.page(`/${kind.section}/:identity`, async (ctx, req) => {
      const [o] = await kit.run(ctx, req, kind.get, { Identity: req.params.identity });
      return editPage(ctx, o);
    });

    kit.action(`/${kind.section}/:identity`, 'um', async (ctx, req, form) => {
      const [o] = await kit.run(ctx, req, kind.get, { Identity: req.params.identity });
      const name = String(o.Name);
      const { values, errors } = changedValues(specs, o, form);
      if (Object.keys(errors).length) return { status: 400, html: editPage(ctx, o, form, errors) };
      if (Object.keys(values).length === 0) return { redirect: `${base}/${seg(name)}`, flash: { kind: 'ok', text: ctx.t.nothingChanged } };
      try {
        await kit.run(ctx, req, kind.set, { Identity: name, ...values });
      } catch (err) {
        // The store's own checks (VA_ERR_INVALID_SETTING, a gateway address that does not resolve...): the form again.
        if (isVaError(err) && err.code !== 'VA_ERR_STORE_UNAVAILABLE' && err.code !== 'VA_ERR_INTERNAL') return { status: 400, html: editPage(ctx, o, form, {}, err.message) };
        throw err;
      }
      return { redirect: `${base}/${seg(name)}`, flash: { kind: 'ok', text: ctx.t.saved } };
    });
  }
}
