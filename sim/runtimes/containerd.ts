import { LOCALHOST_PREFIX, RUNTIME_DEFAULT, UNCONFINED, findLoaded } from '../profile.js';
import type { RuntimeModel } from './runtime.js';

/** containerd CRI plugin: default profile name, containerd internal/cri/sputil/apparmor_linux.go (pkg/cri before 2.0). */
export const CONTAINERD_DEFAULT_PROFILE = 'cri-containerd.apparmor.d';

/**
 * The error chain CreateContainer returns (the kubelet shows its gRPC message as the waiting message and as the
 * `Error: <message>` event). containerd 1.6+ wraps containerSpecOpts/platformSpecOpts errors as
 * "failed to get container spec opts: %w" (pkg/cri/server/container_create.go, internal/cri/server in 2.x; the
 * tutorial shows "Error: failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not
 * found k8s-apparmor-example-allow-write"). containerd 1.4/1.5, paired with older kubelets, used errors.Wrap(err, ""),
 * which leaves a bare ": " in front (StarlingX docs: "Error: : failed to generate apparmor spec opts: ...").
 */
const SPEC_OPTS_WRAPPED_FROM_KUBELET = 24;

function specError(kubelet: number, inner: string): string {
  const prefix = kubelet >= SPEC_OPTS_WRAPPED_FROM_KUBELET ? 'failed to get container spec opts' : '';
  return `${prefix}: failed to generate apparmor spec opts: ${inner}`;
}

export const containerd: RuntimeModel = {
  name: 'containerd',
  source: 'containerd/containerd generateApparmorSpecOpts (v1.4+ pkg/cri/server/container_create_linux.go; v2 internal/cri/sputil/apparmor_linux.go)',
  apply(request, container, node, kubelet) {
    const value = request ?? '';
    if (!node.appArmorEnabled) {
      if (value === '' || value === UNCONFINED) return { ok: true, profile: null, detail: 'host AppArmor off: no profile' };
      return { ok: false, message: specError(kubelet, 'apparmor is not supported'), detail: 'host AppArmor off and a profile was requested', verified: false };
    }
    if (value === UNCONFINED) return { ok: true, profile: null, detail: 'unconfined: no profile' };
    if (value === '' || value === RUNTIME_DEFAULT) {
      if (container.privileged) return { ok: true, profile: null, detail: 'runtime default is not applied to privileged containers' };
      return { ok: true, profile: CONTAINERD_DEFAULT_PROFILE, detail: `runtime default: ${CONTAINERD_DEFAULT_PROFILE}` };
    }
    if (value.startsWith(LOCALHOST_PREFIX)) {
      const name = value.slice(LOCALHOST_PREFIX.length);
      if (name === '') return { ok: false, message: specError(kubelet, 'nil apparmor profile is not supported'), detail: 'empty localhost name', verified: false };
      if (!findLoaded(node.profiles, name)) {
        return { ok: false, message: specError(kubelet, `apparmor profile not found ${name}`), detail: `localhost profile ${name} is not loaded`, verified: true };
      }
      return { ok: true, profile: name, detail: `localhost profile ${name}` };
    }
    return { ok: false, message: specError(kubelet, 'unsupported apparmor profile type'), detail: `unknown request ${value}`, verified: false };
  },
};
