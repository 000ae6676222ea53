// Run-unique profile names, the rewritten pod, generated profile text (compiled by the real apparmor_parser when it
// is installed), and the helper pods' scripts and output parsing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { helperPodManifest, parseProbeOutput, parserFailure, parserScript, PROBE_SCRIPT, PROFILES_BEGIN, PROFILES_END } from '../../conformance/helper-pods.js';
import { generatedProfile, restoreNames, rewritePodProfiles } from '../../conformance/profiles.js';
import { findApparmorParser } from '../../io/load/profile-files.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p',
    annotations: {
      'container.apparmor.security.beta.kubernetes.io/a': 'localhost/k8s-apparmor-example-deny-write',
      'container.apparmor.security.beta.kubernetes.io/b': 'runtime/default',
      'container.apparmor.security.beta.kubernetes.io/c': 'localhost/',
      other: 'localhost/k8s-apparmor-example-deny-write',
    },
  },
  spec: {
    securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: 'pod-level' } },
    initContainers: [{ name: 'i', image: 'busybox', securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: '../path/like' } } }],
    containers: [{ name: 'a', image: 'busybox', securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-apparmor-example-deny-write' } } }],
  },
};

describe('rewritePodProfiles', () => {
  const { manifest, renames } = rewritePodProfiles(pod, 'aasim-k2j9x0ab-3', ['listed-but-unused']);

  it('renames plain localhost names in container annotations and appArmorProfile fields', () => {
    expect(manifest).toMatchObject({
      metadata: { annotations: { 'container.apparmor.security.beta.kubernetes.io/a': 'localhost/k8s-apparmor-example-deny-write-aasim-k2j9x0ab-3' } },
      spec: {
        securityContext: { appArmorProfile: { localhostProfile: 'pod-level-aasim-k2j9x0ab-3' } },
        containers: [{ securityContext: { appArmorProfile: { localhostProfile: 'k8s-apparmor-example-deny-write-aasim-k2j9x0ab-3' } } }],
      },
    });
  });
  it('leaves other values, other annotations and validation edge cases alone', () => {
    const annotations = (manifest['metadata'] as { annotations: Record<string, string> }).annotations;
    expect(annotations['container.apparmor.security.beta.kubernetes.io/b']).toBe('runtime/default');
    expect(annotations['container.apparmor.security.beta.kubernetes.io/c']).toBe('localhost/');
    expect(annotations['other']).toBe('localhost/k8s-apparmor-example-deny-write');
    expect((manifest['spec'] as { initContainers: Array<{ securityContext: { appArmorProfile: { localhostProfile: string } } }> }).initContainers[0]?.securityContext.appArmorProfile.localhostProfile).toBe('../path/like');
  });
  it('does not touch the original and records every rename', () => {
    expect(pod.spec.containers[0]?.securityContext.appArmorProfile.localhostProfile).toBe('k8s-apparmor-example-deny-write');
    expect([...renames.keys()].sort()).toEqual(['k8s-apparmor-example-deny-write', 'listed-but-unused', 'pod-level']);
  });
  it('maps observed texts back, longest name first', () => {
    const replacements = new Map([['deny', 'deny-aasim-k2j9x0ab-3'], ['deny-write', 'deny-write-aasim-k2j9x0ab-3'], ['default', 'aasim-k2j9x0ab-3']]);
    expect(restoreNames('profile "deny-write-aasim-k2j9x0ab-3" and "deny-aasim-k2j9x0ab-3" in aasim-k2j9x0ab-3', replacements)).toBe('profile "deny-write" and "deny" in default');
  });
});

describe('generatedProfile', () => {
  it('is a deny-write profile with the mode as a flag', () => {
    expect(generatedProfile({ name: 'x', mode: 'enforce' })).toBe('profile x flags=(attach_disconnected) {\n  file,\n  deny /** w,\n  signal (receive) peer=unconfined,\n  signal peer=x,\n  ptrace (read) peer=x,\n}\n');
    expect(generatedProfile({ name: 'x', mode: 'complain' })).toContain('flags=(attach_disconnected,complain)');
  });

  const parser = findApparmorParser();
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // -Q: compile only, -K: no cache, -N: print names. The real parser, without touching the kernel.
  it.skipIf(!parser && process.env['CI'] !== 'true')(`compiles with the real apparmor_parser${parser ? '' : ' (skipped: apparmor_parser not installed; Debian package apparmor)'}`, () => {
    const file = join(dir, 'generated');
    writeFileSync(file, [generatedProfile({ name: 'k8s-apparmor-example-deny-write-aasim-k2j9x0ab-3', mode: 'enforce' }), generatedProfile({ name: 'c-aasim-k2j9x0ab-4', mode: 'complain' })].join('\n'));
    // stderr is piped, not checked: without securityfs here the parser notes that its cache is disabled.
    const names = execFileSync(parser ?? 'apparmor_parser', ['-Q', '-K', '-N', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(names.trim().split('\n').sort()).toEqual(['c-aasim-k2j9x0ab-4', 'k8s-apparmor-example-deny-write-aasim-k2j9x0ab-3']);
  });
});

describe('helper pods', () => {
  it('are privileged, pinned to the node, and mount the host securityfs', () => {
    const manifest = helperPodManifest({ name: 'load-1', namespace: 'aasim-x-sys', node: 'kind-worker', image: 'img', runId: 'x', role: 'load', script: 'true', env: { PROFILES: 'p' } });
    expect(manifest).toMatchObject({
      metadata: { labels: { 'apparmor-sim/run': 'x', 'apparmor-sim/role': 'load' } },
      spec: {
        nodeName: 'kind-worker',
        restartPolicy: 'Never',
        containers: [{ securityContext: { privileged: true }, volumeMounts: [{ mountPath: '/sys/kernel/security' }], env: [{ name: 'PROFILES', value: 'p' }] }],
        volumes: [{ hostPath: { path: '/sys/kernel/security' } }],
      },
    });
  });

  it('scripts are valid sh', () => {
    for (const script of [PROBE_SCRIPT, parserScript('load'), parserScript('unload')]) execFileSync('sh', ['-n', '-c', script]);
    expect(parserScript('load')).toContain('apparmor_parser -r -W /tmp/profiles');
    expect(parserScript('unload')).toContain('apparmor_parser -R /tmp/profiles');
  });

  it('the load script fails when apparmor_parser writes to stderr, even with exit code 0 (as the e2e loader does)', () => {
    const bin = mkdtempSync(join(tmpdir(), 'fake-parser-'));
    try {
      // A stand-in apparmor_parser on PATH that warns and exits 0: the script under test is ours, not the parser.
      writeFileSync(join(bin, 'apparmor_parser'), '#!/bin/sh\necho "Warning: something odd" >&2\nexit 0\n', { mode: 0o755 });
      let status = 0;
      let output = '';
      try {
        output = execFileSync('sh', ['-c', parserScript('load').replace('mkdir -p /var/cache/apparmor', 'true')], { env: { PATH: `${bin}:/usr/bin:/bin`, PROFILES: 'profile x {}' }, encoding: 'utf8' });
      } catch (error) {
        status = (error as { status: number }).status;
        output = (error as { stdout: string }).stdout;
      }
      expect(status).toBe(1);
      expect(parserFailure(output)).toBe('Warning: something odd');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('parses probe output', () => {
    const output = `enabled=Y\n${PROFILES_BEGIN}\ncri-containerd.apparmor.d (enforce)\nk8s-x (complain)\n${PROFILES_END}\n`;
    expect(parseProbeOutput(output)).toEqual({ enabled: true, profiles: [{ name: 'cri-containerd.apparmor.d', mode: 'enforce' }, { name: 'k8s-x', mode: 'complain' }], problems: [] });
    expect(parseProbeOutput('enabled=N\nprofiles=unreadable\n')).toEqual({ enabled: false, profiles: null, problems: [] });
    expect(parseProbeOutput('enabled=missing\nprofiles=unreadable\n').enabled).toBeNull();
    expect(parseProbeOutput('garbage').problems).toEqual(['probe printed no enabled= line', 'probe output has no profile list']);
  });
});
