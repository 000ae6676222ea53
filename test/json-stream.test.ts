// The JSON reader for dumps over the whole-file limit (io/load/json-stream.ts): the cutter on any chunking, lines of
// paths, and readManifests reading a big kubectl dump item by item with the same pods, lines and errors as the
// whole-file reader.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { JsonCut } from '../io/load/json-stream.js';
import { JsonCutter, jsonDocument } from '../io/load/json-stream.js';
import { LIMITS } from '../io/load/source.js';
import type { Manifests } from '../cli/commands/manifests.js';
import { readManifests } from '../cli/commands/manifests.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-json-stream-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function kubectlPod(i: number): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `pod-${i}`,
      namespace: `ns-${i % 3}`,
      annotations: { 'note/with-brackets': 'a "quoted" {not: an object} [nor, a list] \\ backslash' },
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {} } } } } }],
    },
    spec: { containers: [{ name: 'app', image: 'busybox', securityContext: { appArmorProfile: { type: 'RuntimeDefault' } } }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app', ready: true, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] },
  };
}

/** `kubectl get pods -A -o json`: a List, indented with 4 spaces, items first and kind after them. */
function kubectlList(count: number): string {
  return `${JSON.stringify({ apiVersion: 'v1', items: Array.from({ length: count }, (_, i) => kubectlPod(i)), kind: 'List', metadata: { resourceVersion: '' } }, null, 4)}\n`;
}

function cutAll(text: string, chunkSize: number): JsonCut[] {
  const cutter = new JsonCutter();
  const bytes = Buffer.from(text);
  const out: JsonCut[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) out.push(...cutter.push(bytes.subarray(i, i + chunkSize)));
  out.push(...cutter.end());
  return out;
}

function linesOf(text: string, needle: string): number[] {
  return text.split('\n').flatMap((line, i) => (line.includes(needle) ? [i + 1] : []));
}

describe('JsonCutter', () => {
  const list = kubectlList(5);

  it('cuts the items of a List, with their lines, whatever the chunk size', () => {
    const expectedLines = linesOf(list, '"apiVersion": "v1",').slice(1).map((l) => l - 1);
    for (const size of [1, 2, 3, 7, 64, 1000, list.length]) {
      const cuts = cutAll(list, size);
      const pieces = cuts.flatMap((c) => ('piece' in c ? [c.piece] : []));
      expect(cuts.filter((c) => 'error' in c)).toEqual([]);
      expect(pieces.filter((p) => p.role === 'item').map((p) => (JSON.parse(p.text) as { metadata: { name: string } }).metadata.name)).toEqual(['pod-0', 'pod-1', 'pod-2', 'pod-3', 'pod-4']);
      expect(pieces.filter((p) => p.role === 'item').map((p) => p.line)).toEqual(expectedLines);
      // The List itself comes last, without its items.
      const shell = pieces.at(-1);
      expect(shell?.role).toBe('object');
      expect(JSON.parse(shell?.text ?? '')).toEqual({ apiVersion: 'v1', items: [], kind: 'List', metadata: { resourceVersion: '' } });
    }
  });

  it('reads a stream of concatenated objects, and "items" below the top level as part of its object', () => {
    const stream = `{"kind":"Pod","metadata":{"name":"a"}}\n{"kind":"Pod","spec":{"items":[1,2]},"metadata":{"name":"b"}}\n\n  {"kind":"Pod","metadata":{"name":"c\\"}"}}`;
    const pieces = cutAll(stream, 5).flatMap((c) => ('piece' in c ? [c.piece] : []));
    expect(pieces.map((p) => [p.role, p.line, (JSON.parse(p.text) as { metadata: { name: string } }).metadata.name])).toEqual([
      ['object', 1, 'a'],
      ['object', 2, 'b'],
      ['object', 4, 'c"}'],
    ]);
  });

  it('hands items over while the input is still being read (memory bounded by an item)', () => {
    const cutter = new JsonCutter();
    const big = Buffer.from(kubectlList(2000));
    const first = cutter.push(big.subarray(0, 64 * 1024));
    expect(first.length).toBeGreaterThan(10);
    expect(first.length).toBeLessThan(2000);
    // An item over the size limit is reported once and dropped; the items after it are read.
    const small = new JsonCutter({ maxPieceBytes: 300, maxDepth: 64 });
    const cuts = [...small.push(Buffer.from(`{"items":[{"a":"${'x'.repeat(400)}"},{"b":1}],"kind":"List"}`)), ...small.end()];
    expect(cuts.map((c) => ('error' in c ? c.error.message : c.piece.text))).toEqual(['items[0]: an object of more than 300 bytes, over the limit', '{"b":1}', '{"items":[],"kind":"List"}']);
  });

  it('reports an unclosed value at its start, and nesting over the limit', () => {
    expect(cutAll('{"items": [{"a": 1}, {"b": [\n', 4).map((c) => ('error' in c ? `${c.error.line}: ${c.error.message}` : 'piece'))).toEqual(['piece', '1: invalid JSON: unexpected end of input (the value starting here is not closed)']);
    const deep = cutAll(`{"items":[${'['.repeat(100)}${']'.repeat(100)}]}`, 1000);
    expect(deep.some((c) => 'error' in c && /nesting deeper than 64 levels/.test(c.error.message))).toBe(true);
  });
});

describe('jsonDocument', () => {
  it('finds the line of a path, or of the closest ancestor that exists', () => {
    const text = JSON.stringify(kubectlPod(1), null, 2);
    const doc = jsonDocument('f.json', { line: 10, column: 5, text, role: 'item', index: 0 }, JSON.parse(text));
    const at = (needle: string) => 9 + (linesOf(text, needle)[0] ?? 0);
    expect(doc.lineOf([])).toBe(10);
    expect(doc.lineOf(['spec', 'containers', 0, 'securityContext', 'appArmorProfile'])).toBe(at('"appArmorProfile"'));
    expect(doc.lineOf(['metadata', 'annotations', 'note/with-brackets'])).toBe(at('"note/with-brackets"'));
    expect(doc.lineOf(['status', 'phase'])).toBe(at('"phase"'));
    expect(doc.lineOf(['spec', 'containers', 3, 'name'])).toBe(at('"containers"'));
    expect(doc.sourceOf(['metadata', 'name'])).toBe('pod-1');
  });
});

describe('readManifests: a .json file is read an item at a time', () => {
  const saved = LIMITS.maxFileBytes;
  afterEach(() => {
    LIMITS.maxFileBytes = saved;
  });
  const summary = (m: Manifests) => ({
    pods: m.pods.map((p) => [p.file, p.line, p.pod.namespace, p.pod.name, p.pod.containers.map((c) => c.appArmorProfile?.type ?? null)]),
    skipped: m.skipped,
    errors: m.errors,
    psps: m.podSecurityPolicies.map((p) => p.name),
  });
  /**
   * The same text read by the YAML parser (as a .yaml document that a trailing comment keeps from being JSON) and
   * streamed item by item from a .json file with the per-document limit below its size; file labels made equal.
   */
  async function bothWays(name: string, text: string): Promise<{ whole: Manifests; streamed: Manifests }> {
    const yamlName = name.replace(/\.json$/, '.yaml');
    writeFileSync(join(TMP, yamlName), `${text}\n# read by the YAML parser\n`);
    const whole = await readManifests([join(TMP, yamlName)], TMP);
    const relabel = <T extends { file: string }>(x: T): T => ({ ...x, file: x.file === yamlName ? name : x.file });
    whole.pods = whole.pods.map(relabel);
    whole.skipped = whole.skipped.map(relabel);
    whole.errors = whole.errors.map(relabel);
    const file = join(TMP, name);
    writeFileSync(file, text);
    LIMITS.maxFileBytes = 4096;
    expect(Buffer.byteLength(text)).toBeGreaterThan(LIMITS.maxFileBytes);
    const streamed = await readManifests([file], TMP);
    LIMITS.maxFileBytes = saved;
    return { whole, streamed };
  }

  it('a kubectl get pods -A -o json dump: the same pods at the same lines as the whole-file reader', async () => {
    const { whole, streamed } = await bothWays('dump.json', kubectlList(40));
    expect(whole.pods).toHaveLength(40);
    expect(whole.errors).toEqual([]);
    expect(summary(streamed)).toEqual(summary(whole));
    // The pod's request lines (SARIF locations) too.
    expect(streamed.pods.map((p) => p.requests)).toEqual(whole.pods.map((p) => p.requests));
  });

  it('a stream of objects with workloads, PodSecurityPolicies and other kinds', async () => {
    const psp = { apiVersion: 'policy/v1beta1', kind: 'PodSecurityPolicy', metadata: { name: 'restricted', annotations: { 'apparmor.security.beta.kubernetes.io/allowedProfileNames': 'runtime/default' } }, spec: {} };
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } } };
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { padding: 'x'.repeat(1000) } };
    const objects = [psp, deployment, configMap, ...Array.from({ length: 10 }, (_, i) => kubectlPod(i))];
    const { whole, streamed } = await bothWays('mixed-list.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2));
    expect(whole.podSecurityPolicies.map((p) => p.name)).toEqual(['restricted']);
    expect(whole.skipped.map((s) => s.kind)).toEqual(['ConfigMap']);
    expect(summary(streamed)).toEqual(summary(whole));
    // Objects one after the other (kubectl get -o json of several kinds piped through jq -c): each is a document.
    const file = join(TMP, 'objects.json');
    writeFileSync(file, objects.map((o) => JSON.stringify(o)).join('\n'));
    LIMITS.maxFileBytes = 4096;
    const stream = await readManifests([file], TMP);
    expect(stream.errors).toEqual([]);
    expect(stream.podSecurityPolicies.map((p) => p.name)).toEqual(['restricted']);
    expect(stream.skipped.map((x) => [x.kind, x.line])).toEqual([['ConfigMap', 3]]);
    expect(stream.pods.map((p) => [p.workload?.name ?? p.pod.name, p.line])).toEqual([['web', 2], ...Array.from({ length: 10 }, (_, i) => [`pod-${i}`, i + 4])]);
  });

  it('a broken item is an error at its line and the other items are read', async () => {
    const file = join(TMP, 'broken.json');
    const good = kubectlList(30);
    // Item 7's name loses its quotes: JSON.parse fails inside that item only.
    const broken = good.replace('"name": "pod-7",', '"name": pod-7,');
    writeFileSync(file, broken);
    LIMITS.maxFileBytes = 4096;
    const streamed = await readManifests([file], TMP);
    expect(streamed.pods.map((p) => p.pod.name)).toEqual(Array.from({ length: 30 }, (_, i) => `pod-${i}`).filter((n) => n !== 'pod-7'));
    expect(streamed.errors).toHaveLength(1);
    expect(streamed.errors[0]?.file).toBe('broken.json');
    // The error lies between the items before and after it.
    expect(streamed.errors[0]?.line).toBeGreaterThan(streamed.pods.find((p) => p.pod.name === 'pod-6')?.line ?? Infinity);
    expect(streamed.errors[0]?.line).toBeLessThan(streamed.pods.find((p) => p.pod.name === 'pod-8')?.line ?? 0);
    expect(streamed.errors[0]?.message).toMatch(/^invalid JSON: /);
  });

  it('keeps the whole-file checks: binary data and invalid UTF-8 stop the file at their line', async () => {
    const text = kubectlList(20);
    const lines = text.split('\n');
    const at = 300;
    for (const [name, bad, message] of [
      ['nul.json', '\u0000', 'binary data (NUL byte): expected YAML text'],
      ['utf8.json', '\udcff', 'invalid UTF-8: expected YAML text'],
    ] as const) {
      const file = join(TMP, name);
      const bytes = Buffer.concat([Buffer.from(`${lines.slice(0, at - 1).join('\n')}\n  `), bad === '\u0000' ? Buffer.from([0]) : Buffer.from([0xff]), Buffer.from(`\n${lines.slice(at - 1).join('\n')}`)]);
      writeFileSync(file, bytes);
      const yamlFile = join(TMP, name.replace(/\.json$/, '.yaml'));
      writeFileSync(yamlFile, bytes);
      const whole = await readManifests([yamlFile], TMP);
      whole.errors = whole.errors.map((e) => ({ ...e, file: name }));
      LIMITS.maxFileBytes = 4096;
      const streamed = await readManifests([file], TMP);
      LIMITS.maxFileBytes = saved;
      expect(whole.errors).toEqual([{ file: name, line: at, message }]);
      expect(streamed.errors).toEqual(whole.errors);
    }
  });

  it('a YAML document over the per-document limit is an error at its line; the documents after it are read', async () => {
    const file = join(TMP, 'big.yaml');
    const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: c\n    image: nginx\n`;
    writeFileSync(file, `${pod('before')}---\n${kubectlList(20)}\n---\n${pod('after')}`);
    LIMITS.maxFileBytes = 4096;
    const read = await readManifests([file], TMP);
    expect(read.pods.map((p) => [p.pod.name, p.line])).toEqual([['before', 1], ['after', 11 + kubectlList(20).split('\n').length]]);
    expect(read.errors).toEqual([{ file: 'big.yaml', line: 9, message: expect.stringMatching(/^a YAML document of more than 4096 characters, over the limit \(a JSON List is read an item at a time/) }]);
  });
});

describe('readManifests with a stream: nothing kept per pod', () => {
  it('hands over each item of a dump and each YAML document as its own batch, keeping no pods', async () => {
    const json = join(TMP, 'stream-dump.json');
    writeFileSync(json, kubectlList(500));
    const yamlFile = join(TMP, 'stream-docs.yaml');
    writeFileSync(yamlFile, Array.from({ length: 300 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: y${i}}\nspec: {containers: [{name: c, image: x}]}\n`).join('---\n'));
    const batches: number[] = [];
    const names: string[] = [];
    const read = await readManifests([json, yamlFile], TMP, {
      batch(pods) {
        batches.push(pods.length);
        names.push(...pods.map((p) => p.pod.name));
      },
    });
    expect(read.pods).toEqual([]);
    expect(batches).toEqual(Array.from({ length: 800 }, () => 1));
    expect(names).toEqual([...Array.from({ length: 500 }, (_, i) => `pod-${i}`), ...Array.from({ length: 300 }, (_, i) => `y${i}`)]);
  });
});
