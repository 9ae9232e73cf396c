#!/usr/bin/env node
'use strict';
// The CLI entry: compiled by `npm run build` (run automatically by `npm ci` through the `prepare` script).
// A closed pipe (`voice-access simulate ... | head`) ends the output quietly, as other command-line tools do.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(process.exitCode || 0);
  throw err;
});
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.stack ? err.stack : String(err)); process.exitCode = 1; },
);
