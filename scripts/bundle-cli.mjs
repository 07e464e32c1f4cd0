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
 * file URL. The bundle sits as deep under the repository as dist/src/cli/, so
 * the paths the CLI computes from it (daemon-autostart.ts finds
 * `../../../bin/berthd`) resolve the same.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
  // Maps back to the TypeScript sources through tsc's own maps (node --enable-source-maps).
  sourcemap: 'linked',
  logLevel: 'warning',
});
