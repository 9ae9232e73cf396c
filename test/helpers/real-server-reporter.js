/**
 * A jest reporter (plain CommonJS, loaded by jest.config.js) that ends the run with one line saying how many suites
 * declared with `describeWithServers` (test/helpers/real-servers.ts) ran against real servers and how many were
 * skipped, and what was missing. Silent when the run had none.
 *
 * How it knows:
 * - skipped suites: their title starts with `[real-server suite skipped: <what is missing>] ` (SKIP_MARKER);
 * - suites that ran: `describeWithServers` appends one JSON line per suite ({testFile, title, ran, missing}) to a file
 *   in the folder this reporter creates and names in VA_REAL_SERVER_REPORT_DIR (set here, in jest's main process,
 *   before the workers are started, so they inherit it). Their tests are those of that file under that title.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SKIP_MARKER = '[real-server suite skipped: ';
const REPORT_DIR_ENV = 'VA_REAL_SERVER_REPORT_DIR';

class RealServerReporter {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'va-real-servers-'));
    process.env[REPORT_DIR_ENV] = this.dir;
    /** @type {Array<{testFile: string, tests: Array<{ancestorTitles: string[], status: string}>}>} */
    this.files = [];
  }

  onRunStart() {
    this.files = [];
    for (const f of fs.readdirSync(this.dir)) fs.rmSync(path.join(this.dir, f), { force: true });
  }

  onTestResult(test, testResult) {
    this.files.push({
      testFile: testResult.testFilePath,
      tests: testResult.testResults.map((t) => ({ ancestorTitles: t.ancestorTitles, status: t.status })),
    });
  }

  /** The records written by describeWithServers in the workers. */
  records() {
    const out = [];
    let names = [];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const name of names) {
      for (const line of fs.readFileSync(path.join(this.dir, name), 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          out.push(JSON.parse(line));
        } catch {
          /* a torn line: ignore */
        }
      }
    }
    return out;
  }

  onRunComplete() {
    /** key (file + top title) -> {ran, missing, passed, failed, other} */
    const suites = new Map();
    const key = (file, title) => `${file}\u0000${title}`;
    for (const r of this.records()) {
      const title = r.ran ? r.title : `${SKIP_MARKER}${r.missing}] ${r.title}`;
      suites.set(key(r.testFile, title), { ran: r.ran, missing: r.missing, passed: 0, failed: 0, other: 0 });
    }
    for (const f of this.files) {
      for (const t of f.tests) {
        const top = t.ancestorTitles[0] ?? '';
        const k = key(f.testFile, top);
        let s = suites.get(k);
        if (!s && top.startsWith(SKIP_MARKER)) {
          const end = top.indexOf('] ', SKIP_MARKER.length);
          s = { ran: false, missing: top.slice(SKIP_MARKER.length, end < 0 ? undefined : end), passed: 0, failed: 0, other: 0 };
          suites.set(k, s);
        }
        if (!s) continue;
        if (t.status === 'passed') s.passed++;
        else if (t.status === 'failed') s.failed++;
        else s.other++;
      }
    }
    try {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* left in the temporary folder */
    }
    if (suites.size === 0) return;
    const all = [...suites.values()];
    const ran = all.filter((s) => s.ran);
    const skipped = all.filter((s) => !s.ran);
    const sum = (k) => ran.reduce((n, s) => n + s[k], 0);
    const tests = sum('passed') + sum('failed') + sum('other');
    const ranText = ran.length
      ? `${ran.length} ran (${tests} tests: ${sum('passed')} passed${sum('failed') ? `, ${sum('failed')} failed` : ''}${sum('other') ? `, ${sum('other')} skipped or todo` : ''})`
      : '0 ran';
    const missing = [...new Set(skipped.map((s) => s.missing))];
    const skippedText = skipped.length ? `${skipped.length} skipped (${missing.join('; ')})` : '0 skipped';
    process.stderr.write(`real-server suites: ${ranText}, ${skippedText}\n`);
  }

  getLastError() {
    return undefined;
  }
}

module.exports = RealServerReporter;
