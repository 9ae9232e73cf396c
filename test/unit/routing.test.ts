import { normalizeNumber, routeCall, type RoutingDirectory } from '../../src/domain/routing';

const dir: RoutingDirectory = {
  dialPlans: [
    { name: 'Contoso-DP', accessNumbers: ['+14255550100'], numberOfDigitsInExtension: 5 },
    { name: 'Contoso-Paris', accessNumbers: ['+33155550100'], numberOfDigitsInExtension: 4 },
  ],
  conferencingNumbers: ['+14255550199'],
  mailboxByExtension: (ext) => ({ '51234': 'tony@contoso.com', '4321': 'claire@contoso.com' })[ext] ?? null,
};

describe('routeCall', () => {
  it('an access number goes to sign-in, whatever the number format', () => {
    expect(routeCall('+14255550100', undefined, dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-DP' });
    expect(routeCall('14255550100', undefined, dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-DP' });
    expect(routeCall('+33155550100', undefined, dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-Paris' });
  });
  it('a diversion naming a mailbox goes to call answering, even to the access number (how PBXs divert to UM)', () => {
    expect(routeCall('+14255550100', '51234', dir)).toEqual({ flow: 'call-answering', identity: 'tony@contoso.com', reason: 'diversion' });
    expect(routeCall('+14255550100', '+14255551234', dir)).toEqual({ flow: 'call-answering', identity: 'tony@contoso.com', reason: 'diversion' });
  });
  it('a diversion naming no mailbox is ignored', () => {
    expect(routeCall('+14255550100', '99999', dir)).toEqual({ flow: 'sign-in', dialPlan: 'Contoso-DP' });
  });
  it('an extension dialled goes to call answering', () => {
    expect(routeCall('4321', undefined, dir)).toEqual({ flow: 'call-answering', identity: 'claire@contoso.com', reason: 'dialled' });
  });
  it('a conferencing number goes to the conference', () => {
    expect(routeCall('+14255550199', undefined, dir)).toEqual({ flow: 'conference' });
  });
  it('anything else is unknown', () => {
    expect(routeCall('+14255550000', undefined, dir)).toEqual({ flow: 'unknown' });
    expect(routeCall('', undefined, dir)).toEqual({ flow: 'unknown' });
  });
  it('normalizes numbers to digits', () => {
    expect(normalizeNumber('+1 (425) 555-0100')).toBe('14255550100');
  });
});
