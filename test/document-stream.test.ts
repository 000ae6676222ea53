// The YAML stream reader (io/load/document-stream.ts): documents cut at kubectl's separator lines, each parsed on its
// own, must give what parsing the whole text at once gives: the same values at the same lines.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InputError, YamlDocument } from '../io/load/source.js';
import { parseYamlDocumentsRecovering } from '../io/load/source.js';
import { readDocuments } from '../io/load/document-stream.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-docstream-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function streamed(name: string, text: string | Buffer): { docs: YamlDocument[]; errors: InputError[] } {
  const file = join(TMP, name);
  writeFileSync(file, text);
  const docs: YamlDocument[] = [];
  const errors: InputError[] = [];
  const fd = openSync(file, 'r');
  try {
    readDocuments(fd, name, 'yaml', { document: (d) => docs.push(d), error: (e) => errors.push(e) });
  } finally {
    closeSync(fd);
  }
  return { docs, errors };
}

const pod = (i: number, style: 'block' | 'flow') =>
  style === 'block'
    ? `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-${i}\n  annotations:\n    note: "line one\n      line two"\nspec:\n  containers:\n  - name: c\n    image: nginx\n    args: |\n      --- not a separator: indented\n      x\n`
    : `${JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}` }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }, null, 2)}\n`;

describe('YAML read a document at a time', () => {
  it('gives the values and lines of a whole-text parse, across chunk boundaries (1.3 MiB of documents, the chunk is 1 MiB)', () => {
    const parts: string[] = [];
    for (let i = 0, size = 0; size < 1.3 * 1024 * 1024; i++) {
      parts.push(`${i % 7 === 0 ? '# a comment line\n' : ''}${pod(i, i % 3 === 0 ? 'flow' : 'block')}`);
      size += parts[i]?.length ?? 0;
    }
    // kubectl's separators: `---`, `--- # comment`, `---` with trailing blanks; document end markers too.
    const separators = ['---\n', '--- # next\n', '---   \n', '...\n---\n'];
    const text = parts.map((p, i) => (i === 0 ? p : `${separators[i % separators.length]}${p}`)).join('');
    const whole = parseYamlDocumentsRecovering(text, 'pods.yaml');
    expect(whole.errors).toEqual([]);
    const { docs, errors } = streamed('pods.yaml', text);
    expect(errors).toEqual([]);
    expect(docs.length).toBe(whole.documents.length);
    expect(docs.map((d) => d.value)).toEqual(whole.documents.map((d) => d.value));
    const paths = [[], ['metadata', 'name'], ['spec', 'containers', 0, 'image']];
    expect(docs.map((d) => paths.map((p) => d.lineOf(p)))).toEqual(whole.documents.map((d) => paths.map((p) => d.lineOf(p))));
  });

  it('an error costs only its document, at the line a whole-text parse gives', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('good', 'bad', 'flow', 'empty'), { minLength: 1, maxLength: 8 }), (kinds) => {
        const docs = kinds.map((k, i) => (k === 'good' ? pod(i, 'block') : k === 'flow' ? pod(i, 'flow') : k === 'empty' ? '# nothing\n' : `apiVersion: v1\nkind: Pod\nmetadata: {name: "broken-${i}\n`));
        const text = docs.join('---\n');
        const whole = docs.map((d, i) => parseYamlDocumentsRecovering(d, 'f.yaml', 1 + docs.slice(0, i).reduce((n, x) => n + x.split('\n').length, 0)));
        const { docs: all, errors } = streamed('f.yaml', text);
        // An empty document (a comment after `---`) is null, whichever reader read it.
        const read = all.filter((d) => d.value !== null);
        expect(read.map((d) => [d.line, (d.value as { metadata: { name: string } }).metadata.name])).toEqual(whole.flatMap((w) => w.documents.filter((d) => d.value !== null).map((d) => [d.line, (d.value as { metadata: { name: string } }).metadata.name])));
        expect(errors.map((e) => e.line)).toEqual(whole.flatMap((w) => w.errors.map((e) => e.line)));
        expect(read.length).toBe(kinds.filter((k) => k === 'good' || k === 'flow').length);
      }),
      { numRuns: 40 },
    );
  });

  it('a JSON document read by JSON.parse has the lines the YAML parser gives it', () => {
    const text = `# header\n---\n${pod(1, 'flow')}---\n\n${pod(2, 'flow')}`;
    const whole = parseYamlDocumentsRecovering(text, 'j.yaml');
    const { docs } = streamed('j.yaml', text);
    expect(docs.map((d) => d.value)).toEqual(whole.documents.map((d) => d.value));
    const paths = [['metadata', 'name'], ['spec', 'containers', 0, 'name']];
    expect(docs.map((d) => paths.map((p) => d.lineOf(p)))).toEqual(whole.documents.map((d) => paths.map((p) => d.lineOf(p))));
  });

  it('a line without end is not held: a 5 MiB line is one document, an error past the limit, in bounded memory', () => {
    const { docs, errors } = streamed('long-line.yaml', `key: ${'x'.repeat(5 * 1024 * 1024)}`);
    expect(docs).toEqual([]);
    expect(errors).toEqual([{ file: 'long-line.yaml', line: 1, message: 'a scalar of 5242880 characters, over the 1048576 limit' }]);
  });
});

describe('results are written while the input is still arriving', () => {
  it('binary data ends the input at its line, after the documents completed before it', () => {
    const { docs, errors } = streamed('nul-after.yaml', Buffer.concat([Buffer.from(`${pod(1, 'block')}---\n${pod(2, 'block')}---\nkind: Pod\n`), Buffer.from([0]), Buffer.from('\n')]));
    expect(docs.map((d) => (d.value as { metadata: { name: string } }).metadata.name)).toEqual(['pod-1', 'pod-2']);
    expect(errors).toEqual([{ file: 'nul-after.yaml', line: 32, message: 'binary data (NUL byte): expected YAML text' }]);
  });

  it('dry-run - prints a pod while its writer has not closed the pipe', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'apparmor-sim.js'), 'dry-run', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += String(data)));
    child.stdin.write(`${pod(1, 'block')}---\n`);
    // The first pod's line arrives while standard input is still open (the writer is slow: nothing more for now).
    const deadline = Date.now() + 20_000;
    while (!out.includes('default/pod-1') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    const beforeEnd = out;
    child.stdin.end(`${pod(2, 'block')}`);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(beforeEnd).toMatch(/^<stdin>:1 {2}default\/pod-1 /);
    expect(beforeEnd).not.toContain('pod-2');
    expect(code).toBe(0);
    expect(out).toMatch(/2 pods: 2 run, 0 refused; 0 skipped\n$/);
  }, 30_000);
});
