import { normalizeNumber, routeCall, type RoutingDirectory } from '../../src/domain/routing';

const dir: RoutingDirectory = {
  dialPlans: [
    { name: 'Contoso-DP', accessNumbers: ['+14255550100'], numberOfDigitsInExtension: 5 },
    { name: 'Contoso-Paris', accessNumbers: ['+33155550100'], numberOfDigitsInExtension: 4 },
  ],
  conferencingNumbers: ['+14255550199'],
  mailboxByExtension: async (ext) => ({ '51234': 'tony@contoso.com', '4321': 'claire@contoso.com' })[ext] ?? null,
};

describe('routeCall', () => {
  it('an access number goes to sign-in, whatever the number format', async () => {
    expect(await routeCall('+14255550100', undefined, dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-DP' });
    expect(await routeCall('14255550100', undefined, dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-DP' });
    expect(await routeCall('+33155550100', undefined, dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-Paris' });
  });
  it('a diversion naming a mailbox goes to call answering, even to the access number (how PBXs divert to UM)', async () => {
    expect(await routeCall('+14255550100', '51234', dir)).toEqual({ flow: 'call-answering', identity: 'tony@contoso.com', reason: 'diversion' });
    expect(await routeCall('+14255550100', '+14255551234', dir)).toEqual({ flow: 'call-answering', identity: 'tony@contoso.com', reason: 'diversion' });
  });
  it('a diversion naming no mailbox is ignored', async () => {
    expect(await routeCall('+14255550100', '99999', dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-DP' });
  });
  it('an extension dialled goes to call answering', async () => {
    expect(await routeCall('4321', undefined, dir)).toEqual({ flow: 'call-answering', identity: 'claire@contoso.com', reason: 'dialled' });
  });
  it('a conferencing number goes to the conference', async () => {
    expect(await routeCall('+14255550199', undefined, dir)).toEqual({ flow: 'conference' });
  });
  it('anything else is unknown', async () => {
    expect(await routeCall('+14255550000', undefined, dir)).toEqual({ flow: 'unknown' });
    expect(await routeCall('', undefined, dir)).toEqual({ flow: 'unknown' });
  });
  it('normalizes numbers to digits', () => {
    expect(normalizeNumber('+1 (425) 555-0100')).toBe('14255550100');
  });
});
