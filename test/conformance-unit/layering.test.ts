// Layering: conformance/ and io/ never import cli/ (io/ is the layer below both; conformance/ is loaded on demand).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const imports = (file: string) => [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1] ?? '');

describe('layering', () => {
  for (const dir of ['conformance', 'io']) {
    it(`${dir}/ imports nothing from cli/`, () => {
      const offending = sources(dir).flatMap((file) => imports(file).filter((spec) => /(^|\/)cli\//.test(spec)).map((spec) => `${file}: ${spec}`));
      expect(offending).toEqual([]);
    });
  }
});
