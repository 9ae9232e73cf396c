import { admitSource, normalizeAddress } from '../../src/domain/gateway-admission';

const gw = (name: string, address: string, status: 'Enabled' | 'Disabled' | 'NoNewCalls') => ({ name, address, status });

describe('admitSource (UM IP gateway allow-list)', () => {
  it('admits an Enabled gateway', () => {
    expect(admitSource('127.0.0.1', [gw('gw1', '127.0.0.1', 'Enabled')])).toEqual({ admit: true, gateway: 'gw1' });
  });
  it('refuses an unknown address with 403', () => {
    expect(admitSource('127.0.0.2', [gw('gw1', '127.0.0.1', 'Enabled')])).toMatchObject({ admit: false, status: 403 });
  });
  it('refuses a Disabled gateway with 403 and a NoNewCalls one with 503', () => {
    expect(admitSource('10.1.1.1', [gw('gw1', '10.1.1.1', 'Disabled')])).toMatchObject({ admit: false, status: 403, reason: expect.stringContaining('disabled') });
    expect(admitSource('10.1.1.1', [gw('gw1', '10.1.1.1', 'NoNewCalls')])).toMatchObject({ admit: false, status: 503 });
  });
  it('the most permissive status wins when gateways share an address', () => {
    expect(admitSource('10.1.1.1', [gw('a', '10.1.1.1', 'Disabled'), gw('b', '10.1.1.1', 'Enabled')])).toEqual({ admit: true, gateway: 'b' });
    expect(admitSource('10.1.1.1', [gw('a', '10.1.1.1', 'Disabled'), gw('b', '10.1.1.1', 'NoNewCalls')])).toMatchObject({ status: 503 });
  });
  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(admitSource('::ffff:127.0.0.1', [gw('gw1', '127.0.0.1', 'Enabled')])).toMatchObject({ admit: true });
  });
});
