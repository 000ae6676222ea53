// Kubernetes minor -> kind node image, in one table.
//
// Each image is the default node image of the kind release named next to it (kind's
// pkg/apis/config/defaults/image.go at that tag, read from the kubernetes-sigs/kind repository), so image and kind
// binary are known to work together: kind supports node images "with the kind version they were released with (and
// best effort with other releases)" (kind site docs/design/node-image). The digests pin the exact image.
// Minors 1.24-1.28: 1.28 was never a kind default, and the defaults of 1.24-1.27 (kind v0.14-v0.20) predate the
// bookworm base; these rows are the images kind v0.22.0 lists under "Images pre-built for this release" in its release
// notes (https://github.com/kubernetes-sigs/kind/releases/tag/v0.22.0), the same kind release as the 1.29 row. They
// cover the Blocked era (kubelet 1.24-1.30) and the removal of the loaded-profile check.
import type { Minor } from '../sim/types.js';

export interface KindNodeImage {
  minor: Minor;
  image: string;
  /** The kind release whose default image this is; CI installs that release for this row. */
  kind: string;
  source: string;
}

const V022_NOTES = 'kubernetes-sigs/kind@v0.22.0 release notes, Images pre-built for this release';

export const KIND_NODE_IMAGES: readonly KindNodeImage[] = [
  { minor: 24, image: 'kindest/node:v1.24.17@sha256:bad10f9b98d54586cba05a7eaa1b61c6b90bfc4ee174fdc43a7b75ca75c95e51', kind: 'v0.22.0', source: V022_NOTES },
  { minor: 25, image: 'kindest/node:v1.25.16@sha256:e8b50f8e06b44bb65a93678a65a26248fae585b3d3c2a669e5ca6c90c69dc519', kind: 'v0.22.0', source: V022_NOTES },
  { minor: 26, image: 'kindest/node:v1.26.14@sha256:5d548739ddef37b9318c70cb977f57bf3e5015e4552be4e27e57280a8cbb8e4f', kind: 'v0.22.0', source: V022_NOTES },
  { minor: 27, image: 'kindest/node:v1.27.11@sha256:681253009e68069b8e01aad36a1e0fa8cf18bb0ab3e5c4069b2e65cafdd70843', kind: 'v0.22.0', source: V022_NOTES },
  { minor: 28, image: 'kindest/node:v1.28.7@sha256:9bc6c451a289cf96ad0bbaf33d416901de6fd632415b076ab05f5fa7e4f65c58', kind: 'v0.22.0', source: V022_NOTES },
  { minor: 29, image: 'kindest/node:v1.29.2@sha256:51a1434a5397193442f0be2a297b488b6c919ce8a3931be0ce822606ea5ca245', kind: 'v0.22.0', source: 'kubernetes-sigs/kind@v0.22.0 pkg/apis/config/defaults/image.go' },
  { minor: 30, image: 'kindest/node:v1.30.0@sha256:047357ac0cfea04663786a612ba1eaba9702bef25227a794b52890dd8bcd692e', kind: 'v0.23.0', source: 'kubernetes-sigs/kind@v0.23.0 pkg/apis/config/defaults/image.go' },
  { minor: 31, image: 'kindest/node:v1.31.2@sha256:18fbefc20a7113353c7b75b5c869d7145a6abd6269154825872dc59c1329912e', kind: 'v0.25.0', source: 'kubernetes-sigs/kind@v0.25.0 pkg/apis/config/defaults/image.go' },
  { minor: 32, image: 'kindest/node:v1.32.2@sha256:f226345927d7e348497136874b6d207e0b32cc52154ad8323129352923a3142f', kind: 'v0.27.0', source: 'kubernetes-sigs/kind@v0.27.0 pkg/apis/config/defaults/image.go' },
  { minor: 33, image: 'kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f', kind: 'v0.29.0', source: 'kubernetes-sigs/kind@v0.29.0 pkg/apis/config/defaults/image.go' },
  { minor: 34, image: 'kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a', kind: 'v0.30.0', source: 'kubernetes-sigs/kind@v0.30.0 pkg/apis/config/defaults/image.go' },
  { minor: 35, image: 'kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f', kind: 'v0.31.0', source: 'kubernetes-sigs/kind@v0.31.0 pkg/apis/config/defaults/image.go' },
];

export const DEFAULT_KIND_MINOR: Minor = 35;

export function kindImageFor(minor: Minor): KindNodeImage | undefined {
  return KIND_NODE_IMAGES.find((row) => row.minor === minor);
}

/**
 * The privileged helper image for probing nodes and loading profiles: the upstream e2e AppArmor loader (alpine with
 * the apparmor package, so it has sh, cat and apparmor_parser). kubernetes/kubernetes test/utils/image/manifest.go:
 * `configs[AppArmorLoader] = Config{list.PromoterE2eRegistry, "apparmor-loader", "1.4"}`; Dockerfile in
 * test/images/apparmor-loader (`apk add apparmor libapparmor`). Its entrypoint (the loader daemon) is replaced.
 */
export const DEFAULT_HELPER_IMAGE = 'registry.k8s.io/e2e-test-images/apparmor-loader:1.4';
