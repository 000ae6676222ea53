#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled into dist/bundle/ by `npm run build` (run by `npm ci` through
// the prepare script; scripts/build.mjs). This file and the bundle are CommonJS (bin/package.json says so for this
// directory) so that starting the CLI does not start Node's ES module loader: part of a one-pod dry run's start-up.
'use strict';

let finished = false;
// As an ES module awaiting main() did, never end quietly when main() never settles and nothing is left to wait for
// (Node ended such a run with exit code 13 and a warning): say so and end with the internal-error code. beforeExit is
// not emitted for process.exit(), which ends a run on purpose (a closed standard output).
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('apparmor-sim: internal error: exited before the command finished; please report it\n');
  process.exitCode = 3;
});
require('../dist/bundle/main.cjs')
  .main(process.argv.slice(2))
  .then((code) => {
    finished = true;
    process.exitCode = code;
  });
