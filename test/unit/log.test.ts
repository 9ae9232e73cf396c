import { Writable } from 'node:stream';
import { callLogger, createLogger, SECRET_KEYS } from '../../src/log';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().trim().split('\n'));
      cb();
    },
  });
  return { lines, destination };
}

describe('log redaction', () => {
  it.each(SECRET_KEYS)('redacts %s at the top level, one and two levels down', (key) => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, level: 'debug' });
    log.info({ [key]: '483920' }, 'top');
    log.info({ event: { [key]: '483920' } }, 'nested');
    log.info({ call: { input: { [key]: '483920' } } }, 'deeper');
    callLogger(log, 'c1', 'sign-in').debug({ [key]: '483920' }, 'child');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain('483920');
      expect(line).toContain('[redacted]');
    }
    expect(JSON.parse(lines[3])).toMatchObject({ callId: 'c1', flow: 'sign-in' });
  });
});
