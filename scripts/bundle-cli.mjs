#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/src/cli/main.js and everything it imports,
 * as tsc wrote them) into one file, dist/bundle/cli/berth.cjs. `npm run
 * build` runs this after tsc; bin/berth runs the bundle while it is at least
 * as new as tsc's output.
 *
 * Why: Node resolves, reads and compiles each ES module on its own, and for
 * the CLI's ~150 modules that cost more time than most commands' own work.
 * Why CommonJS: esbuild then keeps every module that src/cli/root.ts imports
 * lazily (one per command) behind an init function, and that module's own
 * imports — node:https, node:crypto, tar-stream… — run only when the command
 * runs; in an ES module bundle they would all be hoisted to the top and load
 * on every start. npm packages stay outside the bundle, required from
 * node_modules as before.
 *
 * `import.meta.url` does not exist in CommonJS: it becomes the bundle's own
 * file URL, made when first asked for (a URL object costs ~1 ms of a start;
 * only `createRequire` of a command's package and daemon-autostart.ts ask).
 * The bundle sits as deep under the repository as dist/src/cli/, so the paths
 * the CLI computes from it (daemon-autostart.ts finds `../../../bin/berthd`)
 * resolve the same.
 *
 * The file is Node's CommonJS wrapper around the code — `(function (exports,
 * require, module, __filename, __dirname) {…})` — compiled by bin/berth with
 * its code cache, so no copy of the source is made to wrap it at each start
 * (V8 would flatten the concatenation: a second 300–500 KB string and an
 * early young-generation collection). Whitespace and comments are left out
 * (the linked source map still maps every position back to the TypeScript),
 * and the build fails unless the file is ASCII: bin/berth reads it as
 * latin1, a plain byte copy instead of a UTF-8 decode.
 */
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${repo}dist/bundle/cli`;

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: repo,
  entryPoints: { berth: 'dist/src/cli/main.js' },
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  define: { 'import.meta.url': '__berth_bundle.url' },
  banner: {
    js: '(function (exports, require, module, __filename, __dirname) {'
      + 'const __berth_bundle = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
  },
  footer: { js: '\n})' },
  minifyWhitespace: true,
  charset: 'ascii',
  legalComments: 'none',
  // Maps back to the TypeScript sources through tsc's own maps (node --enable-source-maps).
  sourcemap: 'linked',
  logLevel: 'warning',
});

const nonAscii = /[^\x00-\x7f]/.exec(readFileSync(`${outdir}/berth.cjs`, 'latin1'));
if (nonAscii) throw new Error(`bundle-cli: dist/bundle/cli/berth.cjs has a non-ASCII character at ${nonAscii.index}; bin/berth reads it as latin1`);
