/**
 * Issue 20, "Documentation layout": commands shown in the docs keep working. A fenced block whose info string is
 * `sh runnable` (or `bash runnable`) in README.md or docs/**.md is runnable; for each one:
 * - its syntax is checked with `bash -n`;
 * - every command line that runs the CLI (`voice-access ...`, `npx voice-access ...`, `node bin/voice-access.js ...`,
 *   `npm start -- ...`, `npm run <script> -- ...` for a script that runs bin/voice-access.js), followed through line
 *   continuations, variable assignments before the command, pipes, `&&`, subshells and redirections, is checked
 *   against the CLI's own help, in process (`main([...], io)`, as the other CLI tests run it): the options of `serve`
 *   and `simulate` against `voice-access serve --help` / `simulate --help`, a cmdlet's parameters against
 *   `voice-access <Cmdlet> --help` (the cmdlet itself must exist), the options every command takes against
 *   `voice-access help`;
 * - `npm start`, `npm test` and `npm run X` need the script in package.json;
 * - a file of the repository named in a command (`-sf test/e2e/sipp/x.xml`, `scenarios/sign-in.yaml`) must exist.
 * A failure names the file, the line of the command (and of its block) and the unknown option.
 *
 * The links of those pages are checked too: every relative link resolves to a file inside the repository and an
 * anchor to a heading of it; the README links every docs page and every docs page links back to the README.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { ROOT, captureIo } from '../helpers';

// ---------------------------------------------------------------------------------------------------------------
// The pages and their runnable blocks

/** README.md and every .md below docs/, relative to the repository root (posix separators). */
function docPages(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    if (!existsSync(path.join(ROOT, dir))) return;
    for (const name of readdirSync(path.join(ROOT, dir)).sort()) {
      const rel = path.posix.join(dir, name);
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

interface Fence {
  /** The 1-based line of the opening fence. */
  line: number;
  /** The info string's words (`sh`, `runnable`). */
  info: string[];
  /** The content, without the fences and the fence's indentation. */
  body: string;
}

interface Block {
  file: string;
  /** The 1-based line of the opening fence; the body starts on the next line. */
  line: number;
  body: string;
}

/** Every fenced code block of a Markdown text (``` or ~~~, possibly indented, as in list items). */
function fences(text: string): Fence[] {
  const lines = text.split('\n');
  const out: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    out.push({ line: i + 1, info: info.trim().split(/\s+/).filter(Boolean), body: body.join('\n') });
    i = j;
  }
  return out;
}

/** The blocks marked runnable: info string `sh runnable` or `bash runnable` (`shell` too). */
function runnableBlocks(file: string, text: string): Block[] {
  return fences(text)
    .filter((f) => ['sh', 'bash', 'shell'].includes(f.info[0]) && f.info.includes('runnable'))
    .map((f) => ({ file, line: f.line, body: f.body }));
}

/** `bash -n` on a script (from stdin): null when the syntax is good, else bash's complaint. */
function bashSyntax(script: string): string | null {
  const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.status === 0 ? null : r.stderr.trim() || `bash -n exited ${r.status}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Shell words, as far as the docs need: quotes, escapes, comments, line continuations, operators, redirections and
// here-documents (whose text is skipped).

interface Word {
  text: string;
  /** The word starts with a quote or an escape: a value, never an option. */
  quoted: boolean;
}

interface SimpleCommand {
  /** The 0-based line, in the script, where the command starts. */
  line: number;
  words: Word[];
}

/** Splits a script into simple commands (at newlines, `;`, `&`, `&&`, `|`, `||`, `(`, `)`), without redirections. */
function simpleCommands(script: string): SimpleCommand[] {
  const s = script;
  const out: SimpleCommand[] = [];
  let words: Word[] = [];
  let cur: Word | null = null;
  let line = 0;
  let cmdLine = 0;
  /** What the next word is: the target of a redirection (dropped), or a here-document's delimiter. */
  let swallow: 'redirect' | 'heredoc' | null = null;
  const heredocs: Array<{ delimiter: string; strip: boolean }> = [];
  let heredocStrip = false;
  const begin = (quoted: boolean) => {
    if (cur) return cur;
    if (words.length === 0 && !swallow) cmdLine = line;
    cur = { text: '', quoted };
    return cur;
  };
  const endWord = () => {
    if (!cur) return;
    if (swallow === 'heredoc') heredocs.push({ delimiter: cur.text, strip: heredocStrip });
    else if (!swallow) words.push(cur);
    swallow = null;
    cur = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length) out.push({ line: cmdLine, words });
    words = [];
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') {
      if (s[i + 1] === '\n') {
        i += 2;
        line++;
        continue;
      }
      begin(true).text += s[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      const w = begin(true);
      const j = s.indexOf("'", i + 1);
      const end = j < 0 ? s.length : j;
      w.text += s.slice(i + 1, end);
      line += (s.slice(i + 1, end).match(/\n/g) ?? []).length;
      i = end + 1;
    } else if (c === '"') {
      const w = begin(true);
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        if (s[i] === '\n') line++;
        w.text += s[i++];
      }
      i++;
    } else if (c === '#' && !cur) {
      while (i < s.length && s[i] !== '\n') i++;
    } else if (c === '\n') {
      endCommand();
      line++;
      i++;
      // Here-documents started on this line: skip their text, up to each delimiter line.
      for (const h of heredocs.splice(0)) {
        while (i < s.length) {
          const nl = s.indexOf('\n', i);
          const text = s.slice(i, nl < 0 ? s.length : nl);
          i = nl < 0 ? s.length : nl + 1;
          line++;
          if ((h.strip ? text.replace(/^\t+/, '') : text) === h.delimiter) break;
        }
      }
    } else if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '<' || c === '>') {
      // [n]< [n]> >> >& <& >| <<[-] <<<: drop the file descriptor number before it and the target after it.
      const fd = cur as Word | null; // (assigned in the closures above: TypeScript cannot see it)
      if (fd && !fd.quoted && /^\d+$/.test(fd.text)) cur = null;
      else endWord();
      let op = c;
      i++;
      while (i < s.length && '<>&|-'.includes(s[i]) && op.length < 3) op += s[i++];
      swallow = op.startsWith('<<') && !op.startsWith('<<<') ? 'heredoc' : 'redirect';
      heredocStrip = op === '<<-';
    } else if (c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
      endCommand();
      i += (c === '&' || c === '|' || c === ';') && s[i + 1] === c ? 2 : 1;
    } else {
      begin(false).text += c;
      i++;
    }
  }
  endCommand();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Which commands run the CLI, and with what arguments

const PACKAGE = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
const BIN_NAMES = Object.keys(PACKAGE.bin);
const BIN_FILES = Object.values(PACKAGE.bin).map((f) => path.posix.normalize(f));

/** `bin/voice-access.js`, `./bin/voice-access.js`, `node_modules/.bin/voice-access`, or the bin's name. */
function isCliPath(word: string): boolean {
  const w = path.posix.normalize(word);
  return BIN_NAMES.includes(w) || BIN_FILES.includes(w) || BIN_NAMES.some((n) => w === `node_modules/.bin/${n}`);
}

type Invocation = { cli: Word[] } | { npmScript: string; cli?: Word[] } | null;

/** What a simple command runs: the CLI with its arguments, an npm script (and through it maybe the CLI), or else. */
function invocation(cmd: SimpleCommand): Invocation {
  let w = cmd.words;
  // VA_X=1 voice-access ..., sudo/env/exec/time/command voice-access ...
  for (;;) {
    if (w.length && !w[0].quoted && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0].text)) w = w.slice(1);
    else if (w.length && ['sudo', 'env', 'exec', 'time', 'command'].includes(w[0].text)) w = w.slice(1);
    else break;
  }
  if (w.length === 0) return null;
  const [first, ...rest] = w;
  if (isCliPath(first.text)) return { cli: rest };
  if (first.text === 'npx') {
    const i = rest.findIndex((x) => !x.text.startsWith('-'));
    return i >= 0 && BIN_NAMES.includes(rest[i].text) ? { cli: rest.slice(i + 1) } : null;
  }
  if (first.text === 'node') {
    const i = rest.findIndex((x) => !x.text.startsWith('-'));
    return i >= 0 && isCliPath(rest[i].text) ? { cli: rest.slice(i + 1) } : null;
  }
  if (first.text === 'npm' && rest.length) {
    const sub = rest[0].text;
    let script: string;
    let after: Word[];
    if (sub === 'run' || sub === 'run-script') {
      if (rest.length < 2) return null;
      script = rest[1].text;
      after = rest.slice(2);
    } else if (['start', 'test', 'stop', 'restart'].includes(sub)) {
      script = sub;
      after = rest.slice(1);
    } else return null;
    const dashes = after.findIndex((x) => x.text === '--' && !x.quoted);
    const extra = dashes >= 0 ? after.slice(dashes + 1) : [];
    const body = PACKAGE.scripts[script];
    if (body === undefined) return { npmScript: script };
    // A script that runs the CLI (`node bin/voice-access.js serve`): its words, then what follows `--`.
    const inner = simpleCommands(body);
    const cli = inner.length === 1 ? invocation(inner[0]) : null;
    return { npmScript: script, cli: cli && 'cli' in cli && cli.cli ? [...cli.cli, ...extra] : undefined };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// The CLI's help, in process, once per command

const helpCache = new Map<string, Promise<{ code: number; text: string }>>();

/** `voice-access <command> --help` (or `voice-access help` for ''), as the CLI prints it. */
function help(command: string): Promise<{ code: number; text: string }> {
  const key = command.toLowerCase();
  let p = helpCache.get(key);
  if (!p) {
    p = (async () => {
      const io = captureIo();
      const code = await main(key === '' ? ['help'] : [command, '--help'], io, {});
      return { code, text: io.stdout + io.stderr };
    })();
    helpCache.set(key, p);
  }
  return p;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The help text names the option as a whole word (`--drachtio` is not `--drachtio-secret`). */
function helpNames(text: string, option: string): boolean {
  return new RegExp(`(^|[\\s,\\[(])${escapeRe(option)}(?![\\w-])`, 'm').test(text);
}

/** What is wrong with one CLI command line: unknown options and parameters, an unknown cmdlet. */
async function cliProblems(args: Word[]): Promise<string[]> {
  // The command is the first word that is not an option (the value of --data/--config skipped), as main() finds it.
  let at = -1;
  for (let i = 0; i < args.length; i++) {
    const a = args[i].text;
    if (a === '--data' || a === '--config') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    at = i;
    break;
  }
  const command = at < 0 ? undefined : args[at].text;
  const options = args.filter((w, i) => i !== at && !w.quoted && /^--?[A-Za-z?]/.test(w.text));
  const problems: string[] = [];
  const global = await help('');
  if (command === undefined || command.toLowerCase() === 'help') {
    for (const o of options) {
      const name = o.text.split('=')[0];
      if (!helpNames(global.text, name)) problems.push(`unknown option ${name} for \`voice-access\` (not in \`voice-access help\`)`);
    }
    return problems;
  }
  const lower = command.toLowerCase();
  if (lower === 'serve' || lower === 'simulate') {
    const h = await help(lower);
    for (const o of options) {
      const name = o.text.split('=')[0];
      if (!helpNames(h.text, name)) problems.push(`unknown option ${name} for \`voice-access ${lower}\` (not in \`voice-access ${lower} --help\`)`);
    }
    return problems;
  }
  const h = await help(command);
  if (h.code !== 0) return [`\`${command}\` is not a voice-access command or cmdlet (\`voice-access ${command} --help\` exits ${h.code})`];
  const params = new Set([...h.text.matchAll(/^ {2}-([A-Za-z]\w*)/gm)].map((m) => m[1].toLowerCase()));
  for (const o of options) {
    if (o.text.startsWith('--')) {
      const name = o.text.split('=')[0];
      if (!helpNames(global.text, name)) problems.push(`unknown option ${name} for \`voice-access ${command}\` (not in \`voice-access help\`)`);
    } else {
      // -Name value, -Name:value, -Switch; names in full (case-insensitive), as the cmdlet's help lists them.
      const name = o.text.slice(1).split(':')[0];
      if (!params.has(name.toLowerCase())) problems.push(`unknown parameter -${name} for \`${command}\` (not in \`voice-access ${command} --help\`)`);
    }
  }
  return problems;
}

interface Checked {
  problems: string[];
  /** How many command lines ran the CLI (directly or through an npm script). */
  cliCommands: number;
}

/** The folders of the repository whose files commands name (`test/e2e/sipp/...`, `scenarios/...`). */
const REPO_FOLDERS = ['bench', 'bin', 'config', 'docs', 'flows', 'prompts', 'scenarios', 'scripts', 'src', 'test'];

/** A word that names a file of the repository (no glob, no variable) that does not exist. */
function missingRepoFile(word: string): boolean {
  const w = word.replace(/^\.\//, '');
  if (/[*?$[\]{}]/.test(w) || !REPO_FOLDERS.some((d) => w.startsWith(`${d}/`))) return false;
  return !existsSync(path.join(ROOT, w));
}

/** Every problem of the blocks' commands, as `file:line (block at line N): what`. */
async function checkCommands(blocks: Block[]): Promise<Checked> {
  const problems: string[] = [];
  let cliCommands = 0;
  for (const b of blocks) {
    for (const cmd of simpleCommands(b.body)) {
      const where = `${b.file}:${b.line + 1 + cmd.line} (block at line ${b.line})`;
      for (const w of cmd.words) if (missingRepoFile(w.text)) problems.push(`${where}: no file ${w.text} in the repository`);
      const inv = invocation(cmd);
      if (!inv) continue;
      if ('npmScript' in inv && PACKAGE.scripts[inv.npmScript] === undefined) {
        problems.push(`${where}: npm script "${inv.npmScript}" is not in package.json`);
        continue;
      }
      if (!inv.cli) continue;
      cliCommands++;
      for (const p of await cliProblems(inv.cli)) problems.push(`${where}: ${p}`);
    }
  }
  return { problems, cliCommands };
}

// ---------------------------------------------------------------------------------------------------------------
// Links

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings (outside code blocks), numbered as GitHub numbers repeats. */
function anchors(text: string): Set<string> {
  const inCode = new Set(fences(text).flatMap((f) => Array.from({ length: f.body.split('\n').length + 2 }, (_, k) => f.line + k)));
  const seen = new Map<string, number>();
  const out = new Set<string>();
  text.split('\n').forEach((l, i) => {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!m || inCode.has(i + 1)) return;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  });
  return out;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

/** The inline links of a Markdown file, outside code blocks and code spans. */
function links(file: string, text: string): Link[] {
  const lines = text.split('\n');
  for (const f of fences(text)) for (let k = f.line - 1; k <= f.line + f.body.split('\n').length && k < lines.length; k++) lines[k] = '';
  const plain = lines.join('\n').replace(/`[^`\n]*`/g, (m) => ' '.repeat(m.length));
  const out: Link[] = [];
  for (const m of plain.matchAll(/\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    out.push({ file, line: plain.slice(0, m.index).split('\n').length, target: m[1] });
  }
  return out;
}

/** What is wrong with a page's relative links: missing files, files outside the repository, unknown anchors. */
function linkProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const l of links(file, text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(l.target)) continue; // https:, mailto:
    const [p, anchor] = l.target.split('#') as [string, string | undefined];
    const where = `${file}:${l.line}: link ${l.target}`;
    if (p === '') {
      if (anchor !== undefined && !anchors(text).has(anchor)) problems.push(`${where}: no heading with that anchor in ${file}`);
      continue;
    }
    const abs = path.resolve(ROOT, path.dirname(file), decodeURIComponent(p));
    const rel = path.relative(ROOT, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) problems.push(`${where} points outside the repository`);
    else if (!existsSync(abs)) problems.push(`${where}: no such file`);
    else if (anchor !== undefined) {
      if (!abs.endsWith('.md')) problems.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!anchors(readFileSync(abs, 'utf8')).has(anchor)) problems.push(`${where}: no heading with that anchor in ${rel}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------

const PAGES = docPages();
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
const BLOCKS = PAGES.flatMap((f) => runnableBlocks(f, read(f)));

describe('runnable shell blocks of README.md and docs/', () => {
  test('there are some, and some of their commands run the CLI', async () => {
    expect(PAGES).toContain('README.md');
    expect(PAGES.length).toBeGreaterThan(1);
    expect(BLOCKS.length).toBeGreaterThan(0);
    expect((await checkCommands(BLOCKS)).cliCommands).toBeGreaterThan(0);
  });

  test('every one is valid shell (bash -n)', () => {
    const problems = BLOCKS.flatMap((b) => {
      const e = bashSyntax(b.body);
      return e === null ? [] : [`${b.file}:${b.line}: the block does not parse: ${e.replace(/\n/g, ' / ')}`];
    });
    expect(problems).toEqual([]);
  });

  test("every voice-access command uses only options and parameters of the command's --help; npm scripts and files exist", async () => {
    expect((await checkCommands(BLOCKS)).problems).toEqual([]);
  });
});

describe('the check itself (a check that cannot fail is no check)', () => {
  const page = [
    '# A page', // 1
    '', // 2
    '```sh runnable', // 3
    'VA_LOG_LEVEL=debug npx voice-access serve --sip-port 5070 \\', // 4
    '  --bogus-flag x --drachtio=127.0.0.1 | tee log   # a comment --not-a-flag', // 5
    'npm run no-such-script && npm start -- --sip-host 127.0.0.1 --nope', // 6
    '(cd /tmp && npx voice-access Set-UMMailboxPIN tony@contoso.com -pinexpired:$false -NoSuchParam 1 --json) 2>&1', // 7
    'voice-access Get-NoSuchThing -Identity x', // 8
    'cat > x.yaml <<EOF', // 9
    'voice-access serve --inside-a-here-document', // 10
    'EOF', // 11
    'node bin/voice-access.js simulate --target udp:127.0.0.1:5060 "--quoted-is-a-value" --server-log=s.log scenarios/*.yaml', // 12
    'sipp -sf test/e2e/sipp/no-such-scenario.xml -i 127.0.0.1 127.0.0.1:5060', // 13
    '```', // 14
    '', // 15
    '```sh', // 16
    'voice-access serve --not-runnable-not-checked', // 17
    '```', // 18
  ].join('\n');

  test('only the blocks marked runnable are taken, with the line of their fence', () => {
    const blocks = runnableBlocks('fake.md', page);
    expect(blocks.map((b) => b.line)).toEqual([3]);
    expect(bashSyntax(blocks[0].body)).toBeNull();
  });

  test('unknown options, parameters, cmdlets, npm scripts and files are named with the file and line', async () => {
    const { problems, cliCommands } = await checkCommands(runnableBlocks('fake.md', page));
    expect(problems).toEqual([
      'fake.md:4 (block at line 3): unknown option --bogus-flag for `voice-access serve` (not in `voice-access serve --help`)',
      'fake.md:6 (block at line 3): npm script "no-such-script" is not in package.json',
      'fake.md:6 (block at line 3): unknown option --nope for `voice-access serve` (not in `voice-access serve --help`)',
      'fake.md:7 (block at line 3): unknown parameter -NoSuchParam for `Set-UMMailboxPIN` (not in `voice-access Set-UMMailboxPIN --help`)',
      'fake.md:8 (block at line 3): `Get-NoSuchThing` is not a voice-access command or cmdlet (`voice-access Get-NoSuchThing --help` exits 2)',
      'fake.md:13 (block at line 3): no file test/e2e/sipp/no-such-scenario.xml in the repository',
    ]);
    expect(cliCommands).toBe(5);
  });

  test('bash -n finds a broken block', () => {
    expect(bashSyntax('if true; then\n  npx voice-access serve\n')).toMatch(/syntax error|unexpected end of file/);
    expect(bashSyntax('echo "unterminated\n')).not.toBeNull();
  });

  test('links: a missing file, an unknown anchor and a path out of the repository are found', () => {
    const text = ['# Title', '', '[ok](#title) [no](#nothing) [gone](no-such-page.md) [bad anchor](../README.md#no-such-heading)', '[out](../../x.md) `[code](nope.md)`'].join('\n');
    expect(linkProblems('docs/fake.md', text)).toEqual([
      'docs/fake.md:3: link #nothing: no heading with that anchor in docs/fake.md',
      'docs/fake.md:3: link no-such-page.md: no such file',
      'docs/fake.md:3: link ../README.md#no-such-heading: no heading with that anchor in README.md',
      'docs/fake.md:4: link ../../x.md points outside the repository',
    ]);
    expect(slug('Message Waiting Indicator (`src/notify/mwi-*.ts`)')).toBe('message-waiting-indicator-srcnotifymwi-ts');
    expect(slug('Limits: calls refused with 503')).toBe('limits-calls-refused-with-503');
  });
});

describe('links between the pages', () => {
  test('every relative link resolves to a file of the repository, and every anchor to a heading of it', () => {
    expect(PAGES.flatMap((f) => linkProblems(f, read(f)))).toEqual([]);
  });

  test('the README links every docs page, and every docs page links back to the README', () => {
    const readme = links('README.md', read('README.md')).map((l) => l.target.split('#')[0]);
    const docs = PAGES.filter((f) => f !== 'README.md');
    expect(docs.filter((f) => !readme.includes(f))).toEqual([]);
    const noWayBack = docs.filter((f) => !links(f, read(f)).some((l) => path.posix.join(path.posix.dirname(f), l.target.split('#')[0]) === 'README.md'));
    expect(noWayBack).toEqual([]);
  });
});
