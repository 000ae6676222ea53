import { LOCALHOST_PREFIX, RUNTIME_DEFAULT, UNCONFINED } from '../profile.js';
import type { RuntimeModel } from './runtime.js';

/** Docker's default profile (moby profiles/apparmor), loaded by dockerd itself. */
export const DOCKER_DEFAULT_PROFILE = 'docker-default';

/**
 * dockershim (until 1.23): runtime/default and "" set no option so Docker applies docker-default to unprivileged
 * containers and nothing to privileged ones; unconfined -> apparmor=unconfined; localhost/<n> -> apparmor=<n>
 * (pkg/kubelet/dockershim helpers getAppArmorOpts; moby daemon WithApparmor).
 */
export const docker: RuntimeModel = {
  name: 'docker',
  source: 'k8s/k8s pkg/kubelet/dockershim/helpers.go getAppArmorOpts; moby daemon/oci_linux.go WithApparmor',
  apply(request, container, node) {
    const value = request ?? '';
    if (!node.appArmorEnabled) return { ok: true, profile: null, detail: 'host AppArmor off: Docker applies no profile' };
    if (value === UNCONFINED) return { ok: true, profile: null, detail: 'apparmor=unconfined' };
    if (value.startsWith(LOCALHOST_PREFIX)) {
      const name = value.slice(LOCALHOST_PREFIX.length);
      return { ok: true, profile: name, detail: `apparmor=${name}` };
    }
    if (value === '' || value === RUNTIME_DEFAULT) {
      if (container.privileged) return { ok: true, profile: null, detail: 'privileged: Docker applies no profile' };
      return { ok: true, profile: DOCKER_DEFAULT_PROFILE, detail: `Docker default ${DOCKER_DEFAULT_PROFILE}` };
    }
    return { ok: true, profile: null, detail: `unknown request ${value}: ignored` };
  },
};

/** rkt had no AppArmor support. */
export const rkt: RuntimeModel = {
  name: 'rkt',
  source: 'rkt has no AppArmor support (kubelet rejects AppArmor pods on rkt nodes in host validation)',
  apply() {
    return { ok: true, profile: null, detail: 'rkt applies no AppArmor profile' };
  },
};
