// Profiles for a replay: run-unique names, the pod rewritten to use them, and generated profile text. Pure.
//
// Why rename: a real node may already have a profile of the scenario's name loaded (from another run, or because the
// node's owner loaded the tutorial profile), and a scenario that expects "not loaded" would then see it. Suffixing
// every plain localhost name with a token unique to the run and scenario makes "loaded" mean exactly "loaded by this
// scenario". Observed texts are mapped back (restoreNames) before they are compared with the model.
import type { LoadedProfile, ProfileMode } from '../sim/types.js';
import { ANNOTATION_PREFIX, CONTAINER_KINDS, isMap } from '../sim/pod.js';
import { LOCALHOST_PREFIX } from '../sim/profile.js';

/**
 * Names renamed and loaded. Anything else (empty, path-like, over-long names) is the subject of a validation scenario
 * and is sent unchanged: appending to it could change which validation error the API server reports.
 */
export const PLAIN_PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function runUniqueName(name: string, token: string): string {
  return `${name}-${token}`;
}

export interface RewrittenPod {
  manifest: Record<string, unknown>;
  /** original name -> run-unique name, for every localhost name the pod mentions that was renamed. */
  renames: Map<string, string>;
}

/**
 * Returns a copy of the manifest with every plain localhost profile name (in container annotations and in
 * securityContext.appArmorProfile of the pod and each container) replaced by its run-unique name.
 */
export function rewritePodProfiles(manifest: Record<string, unknown>, token: string, alsoRename: Iterable<string> = []): RewrittenPod {
  const copy = structuredClone(manifest);
  const renames = new Map<string, string>();
  const rename = (name: string): string => {
    if (!PLAIN_PROFILE_NAME.test(name)) return name;
    const renamed = runUniqueName(name, token);
    renames.set(name, renamed);
    return renamed;
  };
  for (const name of alsoRename) rename(name);

  const metadata = copy['metadata'];
  if (isMap(metadata) && isMap(metadata['annotations'])) {
    const annotations = metadata['annotations'];
    for (const [key, value] of Object.entries(annotations)) {
      if (key.startsWith(ANNOTATION_PREFIX) && typeof value === 'string' && value.startsWith(LOCALHOST_PREFIX)) {
        annotations[key] = LOCALHOST_PREFIX + rename(value.slice(LOCALHOST_PREFIX.length));
      }
    }
  }
  const spec = copy['spec'];
  if (isMap(spec)) {
    rewriteField(spec['securityContext'], rename);
    for (const kind of CONTAINER_KINDS) {
      const list = spec[kind];
      if (!Array.isArray(list)) continue;
      for (const container of list) if (isMap(container)) rewriteField(container['securityContext'], rename);
    }
  }
  return { manifest: copy, renames };
}

function rewriteField(securityContext: unknown, rename: (name: string) => string): void {
  if (!isMap(securityContext)) return;
  const field = securityContext['appArmorProfile'];
  if (isMap(field) && typeof field['localhostProfile'] === 'string') field['localhostProfile'] = rename(field['localhostProfile']);
}

/** Maps run-unique names (and other replacements, e.g. the run's namespace) in an observed text back to the scenario's. */
export function restoreNames(text: string, replacements: ReadonlyMap<string, string>): string {
  let out = text;
  // Longest first, so that a name that is a prefix of another cannot clobber it.
  const pairs = [...replacements.entries()].sort((a, b) => b[1].length - a[1].length);
  for (const [original, renamed] of pairs) out = out.split(renamed).join(original);
  return out;
}

/** Profile flags for a mode (apparmor.d(5): `flags=(complain)`; kill and unconfined need AppArmor 4). */
function flagsFor(mode: ProfileMode): string {
  return mode === 'enforce' ? 'attach_disconnected' : `attach_disconnected,${mode}`;
}

/**
 * A minimal profile of the tutorial's deny-write kind (kubernetes/website tutorials/security/apparmor.md:
 * `file,` and `deny /** w,`), for scenarios that list a loaded profile without giving its text. It needs no
 * #include, because the helper image and the node may lack the abstraction files; instead it spells out the rules of
 * abstractions/base the harness relies on: unconfined processes (the runtime) may signal the container, and a
 * process may read /proc/1/attr of another process in the same profile (`kubectl exec ... cat /proc/1/attr/current`).
 */
export function generatedProfile(profile: LoadedProfile): string {
  const { name, mode } = profile;
  return [
    `profile ${name} flags=(${flagsFor(mode)}) {`,
    '  file,',
    '  deny /** w,',
    '  signal (receive) peer=unconfined,',
    `  signal peer=${name},`,
    `  ptrace (read) peer=${name},`,
    '}',
    '',
  ].join('\n');
}

/** Generated profiles deny writes; `touch` must fail in enforce mode. */
export function deniesWrites(profile: LoadedProfile): boolean {
  return profile.mode === 'enforce';
}
