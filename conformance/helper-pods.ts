// Privileged helper pods, pinned to one node: they read the node's AppArmor state and load or unload profiles with
// apparmor_parser. Pods rather than `docker exec` into kind nodes: they work on any cluster, and kindest/node images
// do not ship apparmor_parser (kubernetes-sigs/kind images/base/Dockerfile installs no apparmor package). The design
// follows the upstream loader DaemonSet (kubernetes/kubernetes test/images/apparmor-loader/example-daemon.yaml:
// privileged, the host's /sys mounted). Manifests and output parsing are pure.
import { parseKernelProfiles } from '../sim/nodefacts/kernel-profiles.js';
import type { LoadedProfile } from '../sim/types.js';
import { SECURITYFS } from './kind.js';

export const RUN_LABEL = 'apparmor-sim/run';
export const ROLE_LABEL = 'apparmor-sim/role';

export interface HelperPodSpec {
  name: string;
  namespace: string;
  node: string;
  image: string;
  runId: string;
  role: 'probe' | 'load' | 'unload';
  script: string;
  env?: Record<string, string> | undefined;
}

export function helperPodManifest(spec: HelperPodSpec): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace: spec.namespace, labels: { [RUN_LABEL]: spec.runId, [ROLE_LABEL]: spec.role } },
    spec: {
      // Pinned to the node, so the scheduler (and taints such as the control plane's) cannot send it elsewhere.
      nodeName: spec.node,
      restartPolicy: 'Never',
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'helper',
          image: spec.image,
          command: ['sh', '-c', spec.script],
          env: Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value })),
          // Privileged: loading policy needs CAP_MAC_ADMIN, and a privileged container runs unconfined (containerd
          // and CRI-O apply no default AppArmor profile to privileged containers).
          securityContext: { privileged: true },
          volumeMounts: [{ name: 'securityfs', mountPath: SECURITYFS }],
        },
      ],
      volumes: [{ name: 'securityfs', hostPath: { path: SECURITYFS } }],
    },
  };
}

export const PROFILES_BEGIN = '--- apparmor-sim profiles';
export const PROFILES_END = '--- apparmor-sim end';

/** What the kubelet and containerd read: the module parameter, and the kernel's list of loaded profiles. */
export const PROBE_SCRIPT = [
  `printf 'enabled=%s\\n' "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo missing)"`,
  `if [ -r ${SECURITYFS}/apparmor/profiles ]; then echo '${PROFILES_BEGIN}'; cat ${SECURITYFS}/apparmor/profiles; echo '${PROFILES_END}'; else echo 'profiles=unreadable'; fi`,
].join('\n');

export interface ProbeResult {
  /** /sys/module/apparmor/parameters/enabled is Y; null when the file is missing (no AppArmor module). */
  enabled: boolean | null;
  /** null when securityfs was not readable. */
  profiles: LoadedProfile[] | null;
  problems: string[];
}

export function parseProbeOutput(output: string): ProbeResult {
  const problems: string[] = [];
  const enabledText = /^enabled=(.*)$/m.exec(output)?.[1]?.trim();
  const enabled = enabledText === undefined || enabledText === 'missing' ? null : enabledText.startsWith('Y');
  if (enabledText === undefined) problems.push('probe printed no enabled= line');
  let profiles: LoadedProfile[] | null = null;
  const begin = output.indexOf(PROFILES_BEGIN);
  const end = output.indexOf(PROFILES_END);
  if (begin !== -1 && end > begin) {
    const parsed = parseKernelProfiles(output.slice(begin + PROFILES_BEGIN.length, end).replace(/^\n/, ''));
    profiles = parsed.profiles;
    problems.push(...parsed.errors.map((e) => `profiles line ${e.line ?? '?'}: ${e.message}`));
  } else if (!output.includes('profiles=unreadable')) {
    problems.push('probe output has no profile list');
  }
  return { enabled, profiles, problems };
}

/**
 * Loads (or with `-R` removes) the profiles in $PROFILES. `apparmor_parser -r -W` as test/e2e_node/apparmor_test.go
 * loadTestProfiles does, which also treats any stderr output as failure ("apparmor_parser does not always return an
 * error code"); the script therefore fails when stderr is not empty.
 */
export function parserScript(mode: 'load' | 'unload'): string {
  const flags = mode === 'load' ? '-r -W' : '-R';
  return [
    'mkdir -p /var/cache/apparmor',
    `printf '%s' "$PROFILES" > /tmp/profiles`,
    `apparmor_parser ${flags} /tmp/profiles 2>/tmp/stderr; code=$?`,
    // Removing what a half-done load never loaded is not a failure of the cleanup.
    ...(mode === 'unload' ? [`grep -v -i "exist" /tmp/stderr > /tmp/stderr.kept; mv /tmp/stderr.kept /tmp/stderr; [ -s /tmp/stderr ] || code=0`] : []),
    `if [ -s /tmp/stderr ]; then echo 'apparmor_parser stderr:'; cat /tmp/stderr; [ "$code" -eq 0 ] && code=1; fi`,
    `[ "$code" -eq 0 ] && echo 'apparmor-sim: ${mode} ok'`,
    // What the kernel lists afterwards: the harness checks each loaded profile is there in the requested mode.
    ...(mode === 'load' ? [`if [ -r ${SECURITYFS}/apparmor/profiles ]; then echo '${PROFILES_BEGIN}'; cat ${SECURITYFS}/apparmor/profiles; echo '${PROFILES_END}'; fi`] : []),
    'exit $code',
  ].join('\n');
}

/** The parser's complaint from a failed helper's log, on one line. */
export function parserFailure(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'apparmor_parser stderr:');
  return lines.join(' | ').slice(0, 500) || 'no output';
}

/**
 * Profiles the load asked for that the kernel's list (printed by the load script after apparmor_parser) does not show
 * in the requested mode, one line each; empty when all are there.
 */
export function missingAfterLoad(log: string, wanted: readonly LoadedProfile[]): string[] {
  const begin = log.indexOf(PROFILES_BEGIN);
  const end = log.indexOf(PROFILES_END);
  if (begin === -1 || end < begin) return [`${SECURITYFS}/apparmor/profiles could not be read after loading`];
  const listed = parseKernelProfiles(log.slice(begin + PROFILES_BEGIN.length, end).replace(/^\n/, '')).profiles;
  return wanted.flatMap((profile) => {
    const found = listed.find((p) => p.name === profile.name);
    if (!found) return [`${profile.name} is not listed in ${SECURITYFS}/apparmor/profiles`];
    if (found.mode !== profile.mode) return [`${profile.name} is listed in ${found.mode} mode, not ${profile.mode}`];
    return [];
  });
}
