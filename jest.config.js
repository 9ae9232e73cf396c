/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  // Most suites wait on real time (RTP audio, SIPp, baresip) and use little CPU: two workers halve the wall time on
  // a 2-core machine (11 -> 5.5 min) without slowing the timing-sensitive ones (jest's default here is one worker).
  maxWorkers: 3,
  // The longest suites first, also on a fresh clone where jest has no timings of its own (CI): see the file.
  testSequencer: '<rootDir>/test/helpers/slow-first-sequencer.js',
  // One closing line: how many suites ran against real servers (drachtio-server, FreeSWITCH) and how many were
  // skipped for want of them (test/helpers/real-servers.ts, describeWithServers).
  reporters: ['default', '<rootDir>/test/helpers/real-server-reporter.js'],
};
