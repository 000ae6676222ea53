#!/usr/bin/env node
// Mutation check for the property suite (see mutations.md): copies the working tree to a temporary directory (with
// node_modules linked, never touching the checkout others edit), applies one mutation of the model at a time, runs
// `vitest run test/properties` there and records which properties fail. Every mutation must be caught by at least
// one property. Usage: node test/properties/mutate.mjs [substring of a mutation id]   Exit 1 if one survives.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Each: the file, the exact text to replace (must occur once), its replacement, and why it is wrong. */
export const MUTATIONS = [
  {
    id: 'soft-admission-until-1.31',
    file: 'sim/checks/kubelet-common.ts',
    from: 'const SOFT_ADMISSION = { from: 5, to: 30 } as const;',
    to: 'const SOFT_ADMISSION = { from: 5, to: 31 } as const;',
    why: 'flips the 1.30/1.31 Blocked/Rejected switch (CHANGELOG-1.31 #125776)',
  },
  {
    id: 'soft-admission-from-1.4',
    file: 'sim/checks/kubelet-common.ts',
    from: 'const SOFT_ADMISSION = { from: 5, to: 30 } as const;',
    to: 'const SOFT_ADMISSION = { from: 4, to: 30 } as const;',
    why: 'moves the 1.4/1.5 hard/soft switch (CHANGELOG-1.5 #35342)',
  },
  {
    id: 'drop-kubelet-kernel-check',
    file: 'sim/simulate.ts',
    from: '  kubeletKernelEnabled,\n',
    to: '',
    why: 'drops validateHost\'s "AppArmor is not enabled on the host" from the pipeline',
  },
  {
    id: 'drop-annotation-validation',
    file: 'sim/simulate.ts',
    from: '  apiValidateAnnotations,\n',
    to: '',
    why: 'drops ValidateAppArmorPodAnnotations from the pipeline',
  },
  {
    id: 'drop-profile-loaded-check',
    file: 'sim/simulate.ts',
    from: '  kubeletProfileLoaded,\n',
    to: '',
    why: 'drops the kubelet\'s "profile %q is not loaded" (1.4-1.23) from the pipeline',
  },
  {
    id: 'drop-pod-security-admission',
    file: 'sim/simulate.ts',
    from: '  podSecurityAdmission,\n  kubeletFeatureGate,',
    to: '  kubeletFeatureGate,',
    why: 'drops Pod Security Admission from the create pipeline',
  },
  {
    id: 'drop-annotation-field-sync',
    file: 'sim/simulate.ts',
    from: '  apiAppArmorVersionSkew,\n',
    to: '',
    why: 'drops applyAppArmorVersionSkew (1.30+)',
  },
  {
    id: 'drop-runtime',
    file: 'sim/simulate.ts',
    from: '  runtimeApplyProfile,\n];',
    to: '];',
    why: 'drops the runtime stage',
  },
  {
    id: 'unconfined-required-until-1.9',
    file: 'sim/checks/kubelet-common.ts',
    from: '  if (kubelet < 9) return { required: true',
    to: '  if (kubelet < 10) return { required: true',
    why: 'moves the isRequired "unconfined" boundary (#52395) to 1.10',
  },
  {
    id: 'kubelet-reads-fields-from-1.31',
    file: 'sim/checks/kubelet-common.ts',
    from: 'const READS_FIELDS_FROM: Minor = 30;',
    to: 'const READS_FIELDS_FROM: Minor = 31;',
    why: 'a 1.30 kubelet ignoring the appArmorProfile fields (GetProfile, 1.30)',
  },
  {
    id: 'profile-loaded-check-until-1.24',
    file: 'sim/checks/kubelet-profiles.ts',
    from: '  { from: 4, to: 23 },',
    to: '  { from: 4, to: 24 },',
    why: 'keeps the kubelet\'s loaded-profile check in 1.24 (#97966 removed it)',
  },
  {
    id: 'unconfined-valid-from-1.8',
    file: 'sim/checks/api-validate-annotations.ts',
    from: 'const UNCONFINED_VALID_FROM: Minor = 9;',
    to: 'const UNCONFINED_VALID_FROM: Minor = 8;',
    why: 'accepts "unconfined" on a 1.8 API server (#52395 is 1.9)',
  },
  {
    id: 'fields-to-annotations-until-1.34',
    file: 'sim/checks/api-sync.ts',
    from: 'const FIELDS_TO_ANNOTATIONS_UNTIL = 33;',
    to: 'const FIELDS_TO_ANNOTATIONS_UNTIL = 34;',
    why: 'keeps copying fields to annotations in 1.34 (#131989)',
  },
  {
    id: 'rejected-message-prefix',
    file: 'sim/checks/kubelet-common.ts',
    from: '`Pod was rejected: ${message}`',
    to: '`Pod rejected: ${message}`',
    why: 'changes the 1.31+ rejectPod wording',
  },
];

function run(command, args, cwd) {
  return spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
}

/** The working tree (tracked and untracked files, as they are now) without node_modules, dist and .git. */
function copyTree() {
  const dir = mkdtempSync(join(tmpdir(), 'apparmor-sim-mutants-'));
  cpSync(ROOT, dir, { recursive: true, filter: (src) => !/[/\\](node_modules|dist|\.git|\.conformance-runs)([/\\]|$)/.test(src.slice(ROOT.length)) });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Names of the failed tests of `vitest run test/properties` in dir. */
function failingProperties(dir) {
  const out = join(dir, 'vitest-report.json');
  const result = run(process.execPath, [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/properties', '--reporter=json', `--outputFile=${out}`], dir);
  let report;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    throw new Error(`vitest produced no report (exit ${result.status}): ${result.stderr.slice(0, 2000)}`);
  }
  return report.testResults.flatMap((file) => file.assertionResults.filter((t) => t.status === 'failed').map((t) => t.fullName ?? t.title));
}

function main() {
  const filter = process.argv[2];
  const selected = MUTATIONS.filter((m) => !filter || m.id.includes(filter));
  const dir = copyTree();
  const rows = [];
  try {
    const baseline = failingProperties(dir);
    if (baseline.length > 0) throw new Error(`the property suite fails without mutations: ${baseline.join('; ')}`);
    for (const mutation of selected) {
      const path = join(dir, mutation.file);
      const original = readFileSync(path, 'utf8');
      const at = original.indexOf(mutation.from);
      if (at === -1 || original.indexOf(mutation.from, at + 1) !== -1) throw new Error(`${mutation.id}: the text to mutate occurs ${at === -1 ? 'nowhere' : 'more than once'} in ${mutation.file}`);
      writeFileSync(path, original.slice(0, at) + mutation.to + original.slice(at + mutation.from.length));
      try {
        const failed = failingProperties(dir);
        rows.push({ mutation, failed });
        console.log(`${failed.length > 0 ? 'CAUGHT  ' : 'SURVIVED'} ${mutation.id}: ${mutation.why}`);
        for (const name of failed) console.log(`           ${name}`);
      } finally {
        writeFileSync(path, original);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const survived = rows.filter((r) => r.failed.length === 0);
  console.log(`${rows.length - survived.length} of ${rows.length} mutations caught`);
  return survived.length === 0 ? 0 : 1;
}

process.exitCode = main();
