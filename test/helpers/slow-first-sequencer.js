/**
 * jest's test sequencer, with a starting point for a fresh clone. jest runs the suites that took longest first (so no
 * worker idles at the end while one long suite runs alone), but only from its timing cache; on a fresh clone (CI)
 * it orders by file size, and the longest suites here are small files that wait on real time (the FreeSWITCH
 * scenarios, SIPp calls): run last, they alone added minutes to the run. Where the cache has no time for a suite,
 * the time measured here on a full run (`suite-seconds.json`, refreshed with `node test/helpers/suite-seconds.js`)
 * stands in for it.
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = path.resolve(__dirname, '..', '..');
/** Seconds per suite (path from the repository root), measured on a full run. */
const ESTIMATES = require('./suite-seconds.json');

class SlowFirstSequencer extends Sequencer {
  /** The cached duration (ms) of the suite's last run, else the committed estimate, else unknown. */
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    const seconds = ESTIMATES[path.relative(ROOT, test.path).split(path.sep).join('/')];
    return seconds === undefined ? undefined : seconds * 1000;
  }
}

module.exports = SlowFirstSequencer;
