// `npm run build`: removes dist/ and compiles into a fresh one, so that a module deleted or renamed in the sources never
// survives in dist/ and ships in the package (npm pack takes dist/ whole). Then bundles the CLI (dist/cli/main.js and
// what it imports, the yaml package included) into CommonJS chunks in dist/bundle/, which bin/apparmor-sim.js (itself
// CommonJS: bin/package.json) requires. That is what keeps a one-pod dry run's start-up near `node -e 0`'s (bench/run.mjs
// cold start): a few files to load instead of some 130 (ours and yaml's), and read with require(), which does not start
// Node's ES module loader (its own modules, fs/promises, the thread pool). dist/ keeps the modules one by one for the
// API (docs/api.md).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `npm pack` and `npm publish` run prepack (which builds) and then prepare: build once.
if (process.argv.includes('--prepare') && ['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
rmSync(join(root, 'dist'), { recursive: true, force: true });
// TypeScript and rolldown are devDependencies: present in a clone after `npm ci`, and in a git dependency's clone,
// which npm prepares with `npm install --include=dev` before running `prepare` (pacote lib/git.js, lib/fetcher.js).
const require = createRequire(join(root, 'package.json'));
let tsc;
let rolldown;
try {
  tsc = require.resolve('typescript/bin/tsc');
  rolldown = await import(pathToFileURL(require.resolve('rolldown')).href);
} catch {
  process.stderr.write('apparmor-sim build: typescript or rolldown is not installed; run `npm ci` (or `npm install`) first\n');
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

const dist = join(root, 'dist');
const problems = [];
const options = {
  input: { main: join(dist, 'cli', 'main.js') },
  platform: 'node',
  // yaml is bundled; the conformance harness's dependencies (@kubernetes/client-node, execa) stay imports, loaded
  // only by `conformance` commands, as Node's built-in modules do.
  external: (id, importer, isResolved) => !isResolved && !/^[./]/.test(id) && id !== 'yaml' && !id.startsWith('yaml/'),
  onLog: (level, log) => {
    // A module both imported and loaded on demand is merely not split off; anything else (an import the bundler cannot
    // follow, a missing export) means the bundle is not what the sources say: a build error.
    if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') problems.push(`${level}: ${log.message}`);
  },
};
// What a dry run loads (main.js and cli/commands/dry-run.js, and what they import) goes into one chunk: one file to
// read instead of a dozen small shared chunks. The first pass, in memory, finds those modules.
const split = await rolldown.build({ ...options, write: false, output: { format: 'cjs' } });
const chunks = new Map(split.output.filter((c) => c.type === 'chunk').map((c) => [c.fileName, c]));
const dryRunModules = new Set();
const visit = (chunk) => {
  if (!chunk || chunk.moduleIds.every((id) => dryRunModules.has(id))) return;
  for (const id of chunk.moduleIds) dryRunModules.add(id);
  for (const file of chunk.imports) visit(chunks.get(file));
};
for (const chunk of chunks.values()) if (chunk.isEntry || chunk.facadeModuleId === join(dist, 'cli', 'commands', 'dry-run.js')) visit(chunk);
if (problems.length === 0) {
  await rolldown.build({
    ...options,
    output: {
      dir: join(dist, 'bundle'),
      // The sources are ES modules, which are strict; CommonJS output is strict only when it says so.
      format: 'cjs',
      strict: true,
      entryFileNames: '[name].cjs',
      codeSplitting: { groups: [{ name: 'dry-run', test: (id) => dryRunModules.has(id) }] },
      // Other chunks are named after the module they are loaded for (conformance-command-….cjs), so a look at what a
      // run loads says what it is.
      chunkFileNames: (chunk) => `${chunk.facadeModuleId ? relative(dist, chunk.facadeModuleId).replace(/\.js$/, '').replaceAll('/', '-') : '[name]'}-[hash].cjs`,
    },
  });
}
if (problems.length > 0) {
  process.stderr.write(`apparmor-sim build: bundling dist/cli/main.js:\n${problems.join('\n')}\n`);
  process.exit(1);
}
