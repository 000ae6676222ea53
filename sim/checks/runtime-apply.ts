import type { Check } from '../check.js';
import { findLoaded } from '../profile.js';
import { containerd } from '../runtimes/containerd.js';
import { crio } from '../runtimes/cri-o.js';
import { docker, rkt } from '../runtimes/docker.js';
import type { RuntimeApplication, RuntimeModel } from '../runtimes/runtime.js';
import type { Container, ContainerResult, Minor, NodeFacts, Pod, RuntimeName } from '../types.js';
import { kubeletProfileRequest } from './kubelet-common.js';

/** Kubelets before 1.4 know no AppArmor annotation: nothing is passed to the runtime. */
const KUBELET_READS_ANNOTATIONS_FROM: Minor = 4;

/** A generic CRI runtime is modelled as containerd, the reference CRI implementation; the trace says so. */
export function runtimeModel(runtime: RuntimeName): RuntimeModel {
  switch (runtime) {
    case 'containerd':
    case 'remote':
      return containerd;
    case 'cri-o':
      return crio;
    case 'docker':
      return docker;
    case 'rkt':
      return rkt;
  }
}

export function procAttrCurrent(profile: string | null, node: NodeFacts): string | null {
  if (!node.appArmorEnabled) return null;
  if (profile === null) return 'unconfined';
  return `${profile} (${findLoaded(node.profiles, profile)?.mode ?? 'enforce'})`;
}

/**
 * Windows containers have no AppArmor: containerd's CRI plugin sets it only in container_create_linux.go, and the
 * Windows kubelet registers no AppArmor admit handler (#93220, 1.20).
 */
const WINDOWS_APPLIES_NOTHING: RuntimeApplication = { ok: true, profile: null, detail: 'Windows node: no AppArmor profile is applied (containerd container_create_windows.go)' };

export interface RuntimeRun {
  results: ContainerResult[];
  failure?: { container: Container; message: string; verified: boolean };
  details: string[];
}

/** Creates containers in kubelet order: init containers one by one (a failure stops the rest), then regular ones. */
export function runContainers(pod: Pod, containers: readonly Container[], node: NodeFacts, kubelet: Minor): RuntimeRun {
  const model = runtimeModel(node.runtime);
  const results: ContainerResult[] = [];
  const details: string[] = [];
  let failure: RuntimeRun['failure'];
  let initFailed = false;
  for (const container of containers) {
    const request = kubelet >= KUBELET_READS_ANNOTATIONS_FROM ? kubeletProfileRequest(pod, container, kubelet) : undefined;
    // Object literals, not spreads of a common base: this runs for every container of every simulation.
    const requested = request?.value ?? null;
    const requestedBy = request?.by ?? 'none';
    if (initFailed) {
      results.push({ name: container.name, kind: container.kind, requested, requestedBy, appliedProfile: null, procAttrCurrent: null, state: 'NotCreated' });
      continue;
    }
    const applied = node.os === 'windows' ? WINDOWS_APPLIES_NOTHING : model.apply(request?.value, container, node, kubelet);
    details.push(`${container.name}: ${applied.detail}`);
    if (!applied.ok) {
      failure ??= { container, message: applied.message, verified: applied.verified };
      if (container.kind === 'initContainers') initFailed = true;
      results.push({ name: container.name, kind: container.kind, requested, requestedBy, appliedProfile: null, procAttrCurrent: null, state: 'Waiting', waitingReason: 'CreateContainerError' });
      continue;
    }
    results.push({ name: container.name, kind: container.kind, requested, requestedBy, appliedProfile: applied.profile, procAttrCurrent: procAttrCurrent(applied.profile, node), state: 'Running' });
  }
  return { results, failure, details };
}

export const runtimeApplyProfile: Check = {
  id: 'runtime-apply-apparmor-profile',
  stage: 'runtime',
  component: 'kubelet',
  versions: { from: 0 },
  source: 'runtime models in sim/runtimes/ (containerd, CRI-O, dockershim)',
  run(ctx, kubelet) {
    const model = runtimeModel(ctx.node.runtime);
    const created = ctx.pod.containers.filter((c) => c.kind !== 'ephemeralContainers');
    const run = runContainers(ctx.pod, created, ctx.node, kubelet);
    const notes = ctx.node.runtime === 'remote' ? ['runtime "remote" is modelled as containerd; name the runtime (containerd, cri-o) for its exact behaviour'] : [];
    if (kubelet < KUBELET_READS_ANNOTATIONS_FROM && Object.keys(ctx.pod.annotations).some((k) => k.startsWith('container.apparmor'))) {
      notes.push(`kubelet 1.${kubelet} ignores the AppArmor annotations (AppArmor support arrived in 1.4)`);
    }
    if (run.failure) {
      if (!run.failure.verified) notes.push(`the ${model.name} error text for this case is not verified upstream; match on its distinctive part`);
      return {
        verdict: 'fail',
        detail: `${model.name}: ${run.details.join('; ')}`,
        containers: run.results,
        notes,
        source: model.source,
        refusal: { outcome: 'CreateContainerError', reason: 'CreateContainerError', message: run.failure.message },
      };
    }
    return { verdict: 'pass', detail: `${model.name}: ${run.details.join('; ')}`, containers: run.results, notes, source: model.source };
  },
};
