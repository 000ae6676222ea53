import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadScenarios } from '../../io/load/scenarios.js';
import { InputFailure } from '../../io/load/source.js';
import { checkRecordings, readRecording, recordingProblems } from '../../conformance/recordings.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RECORDINGS = join(ROOT, 'conformance', 'recordings');
const library = await loadScenarios([join(ROOT, 'scenarios')], ROOT);

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'recordings-'));
  temps.push(dir);
  cpSync(RECORDINGS, dir, { recursive: true });
  return dir;
}

describe('shipped recordings', () => {
  it('all agree with the model and their scenarios, apart from documented known differences', async () => {
    const { results } = await checkRecordings(RECORDINGS, library);
    const failures = results.filter((r) => !r.passed).map((r) => ({ name: r.name, recording: r.recording, mismatches: r.mismatches }));
    expect(failures).toEqual([]);
    expect(results.length).toBe(12);
  });

  it('each names a scenario of the library or carries one inline, and cites its source', async () => {
    const { results } = await checkRecordings(RECORDINGS, library);
    const names = new Set(library.map((s) => s.name));
    for (const result of results) {
      const recording = readRecording(result.recording);
      expect(names.has(recording.scenario) || recording.inlineScenario !== undefined, recording.scenario).toBe(true);
      expect(recording.source.citation).toMatch(/(kubernetes\/(website|kubernetes) \S+ .*(@[0-9a-f]{7,}|mmorel-35\/kubernetes@[0-9a-f]{7,}))|https:\/\//);
    }
  });

  it('reports the tutorial status message prefix as a known difference, not a pass in disguise', async () => {
    const { results } = await checkRecordings(RECORDINGS, library);
    const tutorial = results.find((r) => r.recording.endsWith('website-tutorial-annotations-hello-apparmor-2.json'));
    expect(tutorial?.knownDifferences.map((k) => k.field)).toEqual(['model.message']);
    expect(tutorial?.knownDifferences[0]?.actual).toBe('Pod Cannot enforce AppArmor: profile "k8s-apparmor-example-allow-write" is not loaded');
    expect(tutorial?.knownDifferences[0]?.expected).toBe('Cannot enforce AppArmor: profile "k8s-apparmor-example-allow-write" is not loaded');
  });

  it('leaves out recordings whose scenario is not selected and has no inline copy', async () => {
    const only = library.filter((s) => s.name === 'tutorial-fields-allow-write-not-loaded-1.30');
    const { results } = await checkRecordings(RECORDINGS, only);
    expect(results.map((r) => r.name).sort()).toEqual([
      'e2e-node-deny-write-field-1.31',
      'e2e-node-unloaded-profile-annotation-1.31',
      'e2e-node-unloaded-profile-field-1.31',
      'rancher-6317-host-not-enabled-1.4',
      'tutorial-fields-allow-write-not-loaded-1.30',
    ]);
  });
});

describe('a recording that disagrees', () => {
  it('fails with model. and expect. mismatches naming the recorded values', async () => {
    const dir = tempCopy();
    const file = join(dir, 'website-tutorial-fields-hello-apparmor-2.json');
    const recording = JSON.parse(readFileSync(file, 'utf8')) as { observation: { events: Array<{ message?: string }> } };
    const failed = recording.observation.events.find((e) => e.message?.startsWith('Error: '));
    if (!failed) throw new Error('fixture changed');
    failed.message = 'Error: failed to get container spec opts: failed to generate apparmor spec opts: apparmor is not supported';
    writeFileSync(file, JSON.stringify(recording));
    const { results } = await checkRecordings(dir, library);
    const result = results.find((r) => r.recording === file);
    expect(result?.passed).toBe(false);
    expect(result?.mismatches.map((m) => m.field)).toEqual(['classifier.message', 'model.message', 'expect.messageContains']);
    expect(result?.mismatches[1]?.actual).toBe('failed to get container spec opts: failed to generate apparmor spec opts: apparmor is not supported');
  });

  it('is an input error when malformed, naming the file and key', async () => {
    const dir = tempCopy();
    writeFileSync(join(dir, 'broken.json'), JSON.stringify({ format: 'apparmor-sim/recording', version: 1, scenario: 'x' }));
    const error = await checkRecordings(dir, library).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputFailure);
    const messages = (error as InputFailure).errors.map((e) => `${e.file}: ${e.message}`);
    expect(messages.some((m) => m.endsWith('broken.json: source: must be {kind: cluster|published, citation: "repository path@version or URL"}'))).toBe(true);
  });

  it('rejects a directory that does not exist', async () => {
    await expect(checkRecordings(join(tmpdir(), 'no-such-recordings-dir'), library)).rejects.toBeInstanceOf(InputFailure);
  });
});

describe('recordingProblems', () => {
  it('accepts every shipped recording', () => {
    for (const name of ['website-tutorial-fields-hello-apparmor-2.json', 'e2e-node-deny-write-field.json']) {
      expect(recordingProblems(JSON.parse(readFileSync(join(RECORDINGS, name), 'utf8')))).toEqual([]);
    }
  });
  it('wants a refusal to carry code, reason and message', () => {
    const recording = JSON.parse(readFileSync(join(RECORDINGS, 'e2e-node-deny-write-field.json'), 'utf8')) as { observation: { api: unknown } };
    recording.observation.api = { accepted: false, warnings: [] };
    expect(recordingProblems(recording)).toEqual(['observation.api: a refusal needs code, reason and message']);
  });
});
