import type { Check, CheckContext } from '../check.js';
import { pass, skip } from '../check.js';
import { gateEnabled } from '../feature-gates.js';
import type { Minor } from '../types.js';
import { kubeletRefusal, kubeletSkipReason } from './kubelet-common.js';

// validateHost, pkg/security/apparmor/validate.go: computed once at kubelet start, checks in this order; the first
// failure is returned for every pod that requires AppArmor ("kubelet restart will be needed").

function hostCheck(id: string, versions: { from: Minor; to?: Minor }, source: string, probe: (ctx: CheckContext, kubelet: Minor) => { error?: string; ok: string }): Check {
  return {
    id,
    stage: 'kubelet',
    component: 'kubelet',
    versions,
    source,
    run(ctx, kubelet) {
      const skipped = kubeletSkipReason(ctx, kubelet);
      if (skipped) return skip(skipped);
      const result = probe(ctx, kubelet);
      if (result.error === undefined) return pass(result.ok);
      return { verdict: 'fail', detail: result.error, refusal: kubeletRefusal(kubelet, result.error) };
    },
  };
}

/** The gate is locked on from 1.31 and removed in 1.33, so the check can no longer fail after 1.30. */
export const kubeletFeatureGate = hostCheck(
  'kubelet-apparmor-feature-gate',
  { from: 4, to: 32 },
  'k8s/k8s pkg/security/apparmor/validate.go validateHost: "AppArmor disabled by feature-gate"',
  (ctx, kubelet) =>
    gateEnabled(ctx.node.featureGates, 'AppArmor', kubelet) ? { ok: 'AppArmor feature gate on' } : { error: 'AppArmor disabled by feature-gate', ok: '' },
);

/**
 * Non-Linux builds (validate_disabled.go) fail here until 1.19; from 1.20 the handler is not registered there at all.
 * PR #84111 "fix golint failures of kubernetes/pkg/security/apparmor" (merged Oct 2019, 1.17) lowercased "Binary not
 * compiled for linux" and dropped the trailing "." of the runtime error: the pre-1.17 text is in the k/k validate.go
 * copy that already uses podutil.VisitContainers(func(*v1.Container) bool) (file index id 57635799), the new text in
 * k8s.io/kubernetes v1.17.1 vendored by kubeedge (ranjan008/kubeedge@e0d51939, go.mod k8s.io/kubernetes v1.17.1).
 */
const GOLINT_MESSAGES_FROM: Minor = 17;
export const kubeletLinuxBuild = hostCheck(
  'kubelet-apparmor-linux-build',
  { from: 4, to: 19 },
  'k8s/k8s pkg/security/apparmor/validate.go + validate_disabled.go: "Binary not compiled for linux" (later lowercased)',
  (ctx, kubelet) =>
    ctx.node.os === 'linux'
      ? { ok: 'kubelet built for linux' }
      : { error: kubelet >= GOLINT_MESSAGES_FROM ? 'binary not compiled for linux' : 'Binary not compiled for linux', ok: '' },
);

export const kubeletKernelEnabled = hostCheck(
  'kubelet-apparmor-kernel-enabled',
  { from: 4 },
  'k8s/k8s pkg/security/apparmor/validate.go validateHost: "AppArmor is not enabled on the host" (runc apparmor.IsEnabled)',
  (ctx) => (ctx.node.appArmorEnabled ? { ok: 'AppArmor enabled in the kernel' } : { error: 'AppArmor is not enabled on the host', ok: '' }),
);

/**
 * Docker only until 1.7; docker or remote from 1.8 (PR #51167); the check went with dockershim in 1.24 (#97252).
 * Pre-1.24 CRI runtimes (containerd, CRI-O) ran as --container-runtime=remote.
 */
const REMOTE_ACCEPTED_FROM: Minor = 8;
export function kubeletRuntimeFlag(runtime: string): string {
  return runtime === 'docker' || runtime === 'rkt' ? runtime : 'remote';
}
export const kubeletRuntimeSupport = hostCheck(
  'kubelet-apparmor-runtime-support',
  { from: 4, to: 23 },
  'k8s/k8s pkg/security/apparmor/validate.go validateHost runtime check (docker only; docker|remote from PR #51167)',
  (ctx, kubelet) => {
    const flag = kubeletRuntimeFlag(ctx.node.runtime);
    if (kubelet < REMOTE_ACCEPTED_FROM) {
      return flag === 'docker' ? { ok: 'runtime docker' } : { error: `AppArmor is only enabled for 'docker' runtime. Found: "${flag}".`, ok: '' };
    }
    return flag === 'docker' || flag === 'remote'
      ? { ok: `runtime ${flag}` }
      : { error: `AppArmor is only enabled for 'docker' and 'remote' runtimes. Found: "${flag}"${kubelet >= GOLINT_MESSAGES_FROM ? '' : '.'}`, ok: '' };
  },
);
