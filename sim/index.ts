// Public API of the model. Pure: no I/O.
export { simulate, CREATE_PIPELINE, EPHEMERAL_PIPELINE } from './simulate.js';
export { readPod, ANNOTATION_PREFIX } from './pod.js';
export { readWorkload, WORKLOAD_TEMPLATES } from './workload-manifest.js';
export type { WorkloadRead } from './workload-manifest.js';
export type { PodRead, ManifestIssue, ManifestPath } from './pod.js';
export { parseVersion, formatMinor, FIRST_APPARMOR_MINOR, NEWEST_MODELLED_MINOR } from './version.js';
export { gateProblems, KNOWN_GATES } from './feature-gates.js';
export type { Check } from './check.js';
export * from './types.js';
