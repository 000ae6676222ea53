// Real-cluster conformance: replays the scenario library on a cluster and fails on any disagreement with the model
// or a scenario's expectation. Runs only when explicitly asked to (never because KUBECONFIG or ~/.kube/config exists):
//   APPARMOR_SIM_KIND=1.35 npm run test:conformance                    creates a kind cluster (kind + docker or podman)
//   APPARMOR_SIM_KUBECONFIG=~/.kube/config npm run test:conformance    uses that kubeconfig's current context
// Without either, every test here is skipped with a one-line reason, and nothing is contacted.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newRunId, runCommand } from '../../conformance/command.js';
import { hostExec } from '../../conformance/exec.js';
import { connect, NoKubeconfig } from '../../conformance/k8s-client.js';
import { kindPreflight } from '../../conformance/kind.js';
import { realClock } from '../../conformance/replay.js';
import type { ConformanceDeps } from '../../conformance/run.js';
import { CONFORMANCE_EXIT } from '../../conformance/run.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KIND_VERSION = process.env['APPARMOR_SIM_KIND'] || undefined;
const KUBECONFIG_FILE = process.env['APPARMOR_SIM_KUBECONFIG'] || undefined;

/** Why no cluster can be used here, or undefined when one can. */
async function missingCluster(): Promise<string | undefined> {
  if (KIND_VERSION) {
    const preflight = await kindPreflight(hostExec);
    return preflight.ok ? undefined : `APPARMOR_SIM_KIND=${KIND_VERSION} is set but ${preflight.message}`;
  }
  if (!KUBECONFIG_FILE) return 'no cluster asked for; set APPARMOR_SIM_KIND=<version> (kind and docker or podman needed) or APPARMOR_SIM_KUBECONFIG=<file>';
  try {
    const connection = await connect({ kubeconfig: KUBECONFIG_FILE, timeoutMs: 10_000 });
    await connection.api.serverVersion();
    return undefined;
  } catch (error) {
    const why = error instanceof NoKubeconfig ? (error.message.split(';')[0] ?? error.message) : `the kubeconfig's API server does not answer (${error instanceof Error ? error.message : String(error)})`;
    return `APPARMOR_SIM_KUBECONFIG=${KUBECONFIG_FILE}: ${why}`;
  }
}

const missing = await missingCluster();
if (missing) console.warn(`conformance tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('conformance on a real cluster', () => {
  it('replays the scenario library: every scenario the cluster can run agrees with the model and its expectation; nothing is left behind', async () => {
    let stdout = '';
    const deps: ConformanceDeps = {
      exec: hostExec,
      connect,
      clock: realClock,
      stdout: (text) => void (stdout += text),
      stderr: (text) => void process.stderr.write(text),
      onSignal: () => () => undefined,
    };
    const runId = newRunId();
    const args = [join(ROOT, 'scenarios'), '-o', 'json', '--record', join(ROOT, '.conformance-runs', runId, 'recordings'), '--logs', join(ROOT, '.conformance-runs', runId)];
    if (KIND_VERSION) args.push('--kind', '--k8s-version', KIND_VERSION);
    else if (KUBECONFIG_FILE) args.push('--kubeconfig', KUBECONFIG_FILE);
    const code = await runCommand(args, deps);
    const report = JSON.parse(stdout) as { summary: { agree: number; mismatch: number; error: number }; results: Array<{ name: string; status: string; reason: string; mismatches: unknown[] }>; cleanup: { failed: unknown[] } };
    const failing = report.results.filter((r) => r.status === 'mismatch' || r.status === 'error').map((r) => ({ name: r.name, reason: r.reason, mismatches: r.mismatches }));
    expect(failing).toEqual([]);
    expect(report.cleanup.failed).toEqual([]);
    expect(report.summary.agree, 'no scenario could run on this cluster (see the skip reasons in the report)').toBeGreaterThan(0);
    expect(code).toBe(CONFORMANCE_EXIT.ok);
  });
});

describe.skipIf(missing === undefined)('conformance on a real cluster', () => {
  it.skip(`skipped: ${missing ?? ''}`, () => undefined);
});
