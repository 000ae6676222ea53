// `npm run build`: removes dist/ and compiles into a fresh one, so that a module deleted or renamed in the sources never
// survives in dist/ and ships in the package (npm pack takes dist/ whole).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `npm pack` and `npm publish` run prepack (which builds) and then prepare: build once.
if (process.argv.includes('--prepare') && ['pack', 'publish'].includes(process.env.npm_command ?? '')) process.exit(0);
rmSync(join(root, 'dist'), { recursive: true, force: true });
// TypeScript is a devDependency: present in a clone after `npm ci`, and in a git dependency's clone, which npm
// prepares with `npm install --include=dev` before running `prepare` (pacote lib/git.js, lib/fetcher.js).
let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write('apparmor-sim build: typescript is not installed; run `npm ci` (or `npm install`) first\n');
  process.exit(1);
}
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
