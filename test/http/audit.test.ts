/** The admin audit log's writer (`admin/audit.ts`): what is a change, and what of the parameters is kept. */
import { auditedParameters, isChange } from '../../src/admin/audit';

test('a PIN never reaches the log; settings about PINs and switches do', () => {
  expect(
    auditedParameters({ Identity: 'tony@contoso.com', Pin: '739251', PinExpired: true, PINLifetime: 60, MinPINLength: 6, ResetLeaderPIN: true, LeaderPin: '1234', Secret: 'x' }),
  ).toEqual({ Identity: 'tony@contoso.com', PinExpired: true, PINLifetime: 60, MinPINLength: 6, ResetLeaderPIN: true });
});

test('reads and -WhatIf are not changes', () => {
  expect(isChange({ name: 'Get-UMMailboxPIN' }, {})).toBe(false);
  expect(isChange({ name: 'Search-AdminAuditLog' }, {})).toBe(false);
  expect(isChange({ name: 'Import-Directory' }, { WhatIf: true })).toBe(false);
  expect(isChange({ name: 'Set-UMMailboxPIN' }, {})).toBe(true);
  expect(isChange({ name: 'New-VaApiKey' }, {})).toBe(true);
});
