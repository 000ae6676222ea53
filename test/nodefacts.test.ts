// Node facts from the sources operators have: the kernel's profile list, aa-status, and profile files (through the
// real apparmor_parser where installed; CI installs it and these tests must not skip there).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSER_MISSING_WARNING, findApparmorParser, loadProfileFiles } from '../io/load/profile-files.js';
import { parseAaStatus } from '../sim/nodefacts/aa-status.js';
import { parseKernelProfiles } from '../sim/nodefacts/kernel-profiles.js';
import { extractProfileNames } from '../sim/nodefacts/profile-source.js';

const fixture = (path: string) => new URL(`../fixtures/${path}`, import.meta.url).pathname;
const read = (path: string) => readFileSync(fixture(path), 'utf8');

describe('kernel profile list (/sys/kernel/security/apparmor/profiles)', () => {
  it('reads name and mode per line, hats included', () => {
    const list = parseKernelProfiles(read('node/kernel-profiles.txt'));
    expect(list.errors).toEqual([]);
    expect(list.profiles).toContainEqual({ name: 'k8s-apparmor-example-deny-write', mode: 'enforce' });
    expect(list.profiles).toContainEqual({ name: 'k8s-apparmor-example-complain', mode: 'complain' });
    expect(list.profiles).toContainEqual({ name: '/usr/sbin/cupsd//third_party', mode: 'enforce' });
    expect(list.profiles).toHaveLength(6);
  });

  it('names the line of anything that is not a "name (mode)" line', () => {
    const list = parseKernelProfiles('a (enforce)\nthis is not a profile line\nb (sideways)\n');
    expect(list.errors).toEqual([
      { line: 2, message: 'not a "name (mode)" line: "this is not a profile line"' },
      { line: 3, message: expect.stringContaining('unknown profile mode "sideways"') },
    ]);
  });
});

describe('aa-status', () => {
  it('reads the text report: enabled, profiles per mode, ignoring processes', () => {
    const status = parseAaStatus(read('node/aa-status.txt'));
    expect(status.errors).toEqual([]);
    expect(status.enabled).toBe(true);
    expect(status.profiles).toHaveLength(5);
    expect(status.profiles).toContainEqual({ name: 'k8s-apparmor-example-complain', mode: 'complain' });
    expect(status.profiles.map((p) => p.name)).not.toContain('/pause (4711) cri-containerd.apparmor.d');
  });

  it('reads aa-status --json', () => {
    const status = parseAaStatus(read('node/aa-status.json'));
    expect(status.errors).toEqual([]);
    expect(status.enabled).toBe(true);
    expect(status.profiles).toContainEqual({ name: 'k8s-apparmor-example-deny-write', mode: 'enforce' });
    expect(status.profiles).toHaveLength(4);
  });

  it('says the module is disabled when aa-status does', () => {
    const status = parseAaStatus(read('node/aa-status-disabled.txt'));
    expect(status).toMatchObject({ enabled: false, profiles: [], errors: [] });
  });

  it('refuses a truncated paste, naming the header whose count does not add up', () => {
    const status = parseAaStatus(read('node/aa-status-truncated.txt'));
    expect(status.errors).toEqual([{ line: 3, message: 'header announces 4 enforce profiles but 2 are listed (truncated paste?)' }]);
  });

  it('refuses text that is not aa-status output', () => {
    expect(parseAaStatus('hello\n').errors[0]).toMatchObject({ line: 1, message: 'not aa-status output: "hello"' });
    expect(parseAaStatus('{"profiles": [1]}').errors[0]?.message).toBe('aa-status --json output has no "profiles" object');
  });
});

describe('built-in profile source reader', () => {
  it('finds names, hats, quoted and path-attached profiles, and modes from flags', () => {
    const source = extractProfileNames(read('profiles/multi-profile'));
    expect(source.errors).toEqual([]);
    expect(source.profiles.map(({ name, mode }) => ({ name, mode }))).toEqual([
      { name: 'k8s-multi-one', mode: 'enforce' },
      { name: 'k8s-multi-one//worker', mode: 'enforce' },
      { name: 'k8s multi two', mode: 'kill' },
      { name: '/usr/local/bin/k8s-multi-three', mode: 'enforce' },
    ]);
  });

  it('reads complain mode from flags=(attach_disconnected,complain)', () => {
    expect(extractProfileNames(read('profiles/k8s-apparmor-example-complain')).profiles).toMatchObject([{ name: 'k8s-apparmor-example-complain', mode: 'complain' }]);
  });

  it('reports an unclosed block at the line that opened it', () => {
    expect(extractProfileNames(read('profiles/broken/unclosed')).errors).toEqual([{ line: 1, message: 'block opened here is never closed with "}"' }]);
  });

  it('refuses a file that defines no profile', () => {
    expect(extractProfileNames('# only a comment\n').errors).toEqual([{ line: 1, message: 'no profile definition found' }]);
  });
});

describe('profile files without apparmor_parser', () => {
  it('reads names and modes and says nothing was validated', async () => {
    const result = await loadProfileFiles([fixture('profiles/dir'), fixture('profiles/k8s-apparmor-example-deny-write')], { parser: null });
    expect(result).toEqual({
      profiles: [
        { name: 'k8s-dir-a', mode: 'enforce' },
        { name: 'k8s-dir-b', mode: 'complain' },
        { name: 'k8s-apparmor-example-deny-write', mode: 'enforce' },
      ],
      validatedBy: 'built-in reader',
      warnings: [PARSER_MISSING_WARNING],
    });
  });

  it('reports a missing path', async () => {
    expect(await loadProfileFiles([fixture('profiles/nope')], { parser: null })).toEqual({
      errors: [{ file: fixture('profiles/nope'), message: expect.stringContaining('cannot read') }],
    });
  });
});

const parser = findApparmorParser();
const parserMissing = parser === undefined && process.env['CI'] !== 'true';
if (parserMissing) console.warn('skipping apparmor_parser tests: apparmor_parser not found (apt-get install apparmor)');

describe.skipIf(parserMissing)('profile files through the real apparmor_parser', () => {
  it('is installed in CI', () => {
    expect(parser, 'CI must install the Debian package apparmor (.ci/run does)').toBeDefined();
  });

  it('validates the tutorial profiles and keeps modes from flags', async () => {
    const result = await loadProfileFiles([fixture('profiles/k8s-apparmor-example-deny-write'), fixture('profiles/k8s-apparmor-example-complain'), fixture('profiles/multi-profile')]);
    expect(result).toMatchObject({ validatedBy: 'apparmor_parser', warnings: [] });
    expect('profiles' in result && result.profiles).toEqual(
      expect.arrayContaining([
        { name: 'k8s-apparmor-example-deny-write', mode: 'enforce' },
        { name: 'k8s-apparmor-example-complain', mode: 'complain' },
        { name: 'k8s-multi-one//worker', mode: 'enforce' },
        { name: 'k8s multi two', mode: 'kill' },
      ]),
    );
  });

  it('skips backup and hidden files in a directory, as the parser does', async () => {
    const result = await loadProfileFiles([fixture('profiles/dir')]);
    expect('profiles' in result && result.profiles.map((p) => p.name)).toEqual(['k8s-dir-a', 'k8s-dir-b']);
  });

  it.each([
    ['missing-comma', 6, 'syntax error, unexpected TOK_CLOSE, expecting TOK_END_OF_RULE'],
    ['unknown-rule', 2, 'syntax error, unexpected TOK_ID, expecting TOK_MODE'],
    ['unclosed', 3, 'syntax error, unexpected end of file'],
  ])('reports the parser syntax error in broken/%s with file and line %i', async (name, line, message) => {
    const file = fixture(`profiles/broken/${name}`);
    const result = await loadProfileFiles([file]);
    expect(result).toEqual({ errors: [{ file, line, message: expect.stringContaining(`apparmor_parser: ${message}`) }] });
  });
});

describe('node facts through the CLI (--profiles)', () => {
  const root = new URL('..', import.meta.url).pathname;
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/apparmor-sim.js', 'dry-run', ...args, '--output', 'json'], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const tutorialPod = 'examples/hello-apparmor-annotation.yaml';

  it('an aa-status paste saying the module is not loaded makes a 1.31 kubelet reject the pod', () => {
    const run = cli(tutorialPod, '--k8s-version', '1.31', '--profiles', 'fixtures/node/aa-status-disabled.txt');
    expect(run.status).toBe(1);
    const result = (JSON.parse(run.stdout) as { results: { outcome: string; message: string }[] }).results[0];
    expect(result).toMatchObject({ outcome: 'Rejected', message: 'Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host' });
  });

  it('the kernel profile list supplies the loaded deny-write profile', () => {
    const run = cli(tutorialPod, '--k8s-version', '1.17', '--profiles', 'fixtures/node/kernel-profiles.txt');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('"procAttrCurrent": "k8s-apparmor-example-deny-write (enforce)"');
  });

  it('a truncated aa-status paste is an input error with file and line', () => {
    const run = cli(tutorialPod, '--profiles', 'fixtures/node/aa-status-truncated.txt');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('fixtures/node/aa-status-truncated.txt:3: header announces 4 enforce profiles but 2 are listed (truncated paste?)\n');
  });

  it.skipIf(parserMissing)('a profile file with a syntax error is an input error with the parser message', () => {
    const run = cli(tutorialPod, '--profiles', 'fixtures/profiles/broken/missing-comma');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('fixtures/profiles/broken/missing-comma:6: apparmor_parser: syntax error, unexpected TOK_CLOSE, expecting TOK_END_OF_RULE\n');
  });
});
