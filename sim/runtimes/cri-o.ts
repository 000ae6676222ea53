import { LOCALHOST_PREFIX, RUNTIME_DEFAULT, UNCONFINED, findLoaded } from '../profile.js';
import type { RuntimeModel } from './runtime.js';

/** CRI-O's default profile since v1.18.0 (internal/config/apparmor); configurable as apparmor_profile. */
export const CRIO_DEFAULT_PROFILE = 'crio-default';

export const crio: RuntimeModel = {
  name: 'cri-o',
  source: 'cri-o/cri-o server/container_create_linux.go + internal/config/apparmor (v1.18.0+)',
  apply(request, container, node) {
    const value = request ?? '';
    // CRI-O applies AppArmor only when the host supports it and the container is not privileged.
    if (!node.appArmorEnabled) return { ok: true, profile: null, detail: 'host AppArmor off: CRI-O ignores the request' };
    if (container.privileged) return { ok: true, profile: null, detail: 'CRI-O applies no AppArmor profile to privileged containers' };
    if (value === UNCONFINED) return { ok: true, profile: null, detail: 'unconfined: no profile' };
    if (value === '' || value === RUNTIME_DEFAULT) return { ok: true, profile: CRIO_DEFAULT_PROFILE, detail: `runtime default: ${CRIO_DEFAULT_PROFILE}` };
    if (value.startsWith(LOCALHOST_PREFIX)) {
      const name = value.slice(LOCALHOST_PREFIX.length);
      if (name === '') return { ok: false, message: 'empty localhost AppArmor profile is forbidden', detail: 'empty localhost name (CRI-O v1.24.0+)', verified: false };
      if (!findLoaded(node.profiles, name)) {
        // CRI-O does not check; runc fails to write the exec attribute when it creates the container.
        return {
          ok: false,
          message: `container create failed: apparmor failed to apply profile: write /proc/self/attr/apparmor/exec: no such file or directory`,
          detail: `localhost profile ${name} is not loaded; runc fails to apply it`,
          verified: false,
        };
      }
      return { ok: true, profile: name, detail: `localhost profile ${name}` };
    }
    return { ok: true, profile: null, detail: `unknown request ${value}: ignored` };
  },
};
