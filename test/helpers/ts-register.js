/**
 * Lets a child process `require` the TypeScript sources directly (`node -r test/helpers/ts-register.js x.ts`):
 * each `.ts` file is transpiled on load with TypeScript's `transpileModule` (no type check; the repository compiles
 * with `isolatedModules`, so a file alone transpiles correctly). For tests that run the source, not `dist/`, in
 * several processes.
 */
'use strict';
const fs = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  isolatedModules: true,
  inlineSourceMap: true,
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(out.outputText, filename);
};
