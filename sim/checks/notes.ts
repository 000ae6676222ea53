// Model notes where reality is shakier than the model: no upstream component emits these; they say what the model
// cannot promise.
import type { Check } from '../check.js';
import { skip } from '../check.js';
import type { Minor } from '../types.js';

/**
 * The version skew policy (kubernetes/website content/en/releases/version-skew-policy.md): "kubelet must not be newer
 * than kube-apiserver", and may be up to two minor versions older, three from 1.28 (KEP-3935).
 */
const THREE_MINORS_OLDER_FROM: Minor = 28;

export function kubeletSkewNote(apiserver: Minor, kubelet: Minor): string | undefined {
  const allowedOlder = apiserver >= THREE_MINORS_OLDER_FROM ? 3 : 2;
  if (kubelet > apiserver) {
    return `kubelet 1.${kubelet} is newer than the API server 1.${apiserver}: the version skew policy does not support a kubelet newer than kube-apiserver; the model simulates it anyway`;
  }
  if (apiserver - kubelet > allowedOlder) {
    return `kubelet 1.${kubelet} is ${apiserver - kubelet} minor versions older than the API server 1.${apiserver}: the version skew policy supports at most ${allowedOlder} (KEP-3935 made it 3 from 1.28); the model simulates it anyway`;
  }
  return undefined;
}

export const versionSkewNote: Check = {
  id: 'note-version-skew',
  // A note about the cluster, given whatever happens to the pod; selected by the kubelet's version.
  stage: 'apiserver',
  component: 'kubelet',
  versions: { from: 0 },
  source: 'kubernetes/website content/en/releases/version-skew-policy.md; KEP-3935 (kubelet n-3 from 1.28)',
  run(ctx, kubelet) {
    const note = kubeletSkewNote(ctx.cluster.version, kubelet);
    if (!note) return skip('kubelet within the supported skew');
    return { verdict: 'info', detail: note, notes: [note] };
  },
};

/**
 * No released Kubernetes reads container.apparmor.security.alpha.kubernetes.io/ annotations: AppArmor support started
 * in 1.4 with the beta key (pkg/security/apparmor, PR #31473; k8s.io/api core/v1 annotation_key_constants.go has only
 * the beta prefix). Such an annotation is an ordinary annotation.
 */
const ALPHA_PREFIX = 'container.apparmor.security.alpha.kubernetes.io/';

export const alphaAnnotationNote: Check = {
  id: 'note-alpha-apparmor-annotation',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0 },
  source: 'k8s.io/api core/v1 annotation_key_constants.go (DeprecatedAppArmorBetaContainerAnnotationKeyPrefix only); PR #31473',
  run(ctx) {
    const keys = Object.keys(ctx.pod.annotations).filter((k) => k.startsWith(ALPHA_PREFIX)).sort();
    if (keys.length === 0) return skip('no alpha AppArmor annotation keys');
    const notes = keys.map((k) => `annotation ${k} is not read by any Kubernetes release; the key is container.apparmor.security.beta.kubernetes.io/${k.slice(ALPHA_PREFIX.length)}`);
    return { verdict: 'info', detail: notes.join('; '), notes };
  },
};
