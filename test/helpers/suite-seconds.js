#!/usr/bin/env node
/**
 * Writes `suite-seconds.json` (the slow-first sequencer's estimates) from jest's timing cache of the last full run
 * on this machine: `npm test`, then `node test/helpers/suite-seconds.js`. Only suites of 5 s or more are kept.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const dirs = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('jest_')).map((d) => path.join(os.tmpdir(), d));
const caches = dirs.flatMap((d) => fs.readdirSync(d).filter((f) => f.startsWith('perf-cache-')).map((f) => path.join(d, f)));
if (caches.length === 0) throw new Error(`no jest timing cache under ${os.tmpdir()}: run npm test first`);
const newest = caches.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
const cache = JSON.parse(fs.readFileSync(newest, 'utf8'));
const out = {};
for (const [file, [, ms]] of Object.entries(cache).sort((a, b) => b[1][1] - a[1][1])) {
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  if (ms >= 5000 && !rel.startsWith('..') && fs.existsSync(file)) out[rel] = Math.round(ms / 1000);
}
fs.writeFileSync(path.join(__dirname, 'suite-seconds.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`${Object.keys(out).length} suites from ${newest}`);
