// The classifier against real statuses: the shipped recordings (transcribed from upstream documentation and e2e
// tests) and the status shapes the kubelet and API server produce.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify } from '../../sim/classify.js';
import type { RawObservation } from '../../sim/observation.js';
import type { Recording } from '../../conformance/recordings.js';

const RECORDINGS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'conformance', 'recordings');
const recordings = readdirSync(RECORDINGS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, recording: JSON.parse(readFileSync(join(RECORDINGS, f), 'utf8')) as Recording }));

const one = (containers = [{ name: 'hello', kind: 'containers' as const }]) => containers;
const raw = (over: Partial<RawObservation>): RawObservation => ({ api: { accepted: true, warnings: [] }, pod: {}, events: [], exec: {}, containers: one(), warningsKnown: true, ...over });

describe('classify: recorded upstream statuses', () => {
  it.each(recordings)('$file classifies as recorded', ({ recording }) => {
    const verdict = classify(recording.observation);
    expect(verdict.kind).toBe('decided');
    if (verdict.kind !== 'decided') return;
    const { outcome, stage, reason, message } = verdict.observation;
    expect({ outcome, stage, reason, message }).toEqual(recording.classified);
  });

  it('reads the 2016 tutorial describe output as Blocked with the status message, not the event', () => {
    const tutorial = recordings.find((r) => r.file === 'website-tutorial-annotations-hello-apparmor-2.json');
    const verdict = classify(tutorial!.recording.observation);
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Blocked', stage: 'kubelet', containers: [{ name: 'hello', state: 'Waiting', waitingReason: 'Blocked', profile: null }] } });
  });

  it('takes the runtime message from the kubelet Failed event when the status is elided, without "Error: "', () => {
    const fields = recordings.find((r) => r.file === 'website-tutorial-fields-hello-apparmor-2.json');
    const verdict = classify(fields!.recording.observation);
    expect(verdict.kind === 'decided' && verdict.observation.message).toBe('failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found k8s-apparmor-example-allow-write');
  });
});

describe('classify: API refusals', () => {
  it('422 Invalid is a validation refusal at the API server', () => {
    const verdict = classify(raw({ api: { accepted: false, code: 422, reason: 'Invalid', message: 'Pod "x" is invalid: metadata.annotations[...]: Invalid value: "docker-default": invalid AppArmor profile name: "docker-default"', warnings: [] }, pod: null }));
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Forbidden', stage: 'apiserver', reason: 'Invalid', containers: [{ state: 'NotCreated', profile: null }] } });
  });
  it('403 Forbidden is admission (Pod Security Admission, PodSecurityPolicy)', () => {
    const verdict = classify(raw({ api: { accepted: false, code: 403, reason: 'Forbidden', message: 'pods "x" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile', warnings: ['w'] }, pod: null }));
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Forbidden', stage: 'admission', reason: 'Forbidden', message: 'pods "x" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile', warnings: ['w'] } });
  });
});

describe('classify: kubelet and runtime', () => {
  it('Failed with reason AppArmor is a hard rejection', () => {
    const verdict = classify(raw({ pod: { phase: 'Failed', reason: 'AppArmor', message: 'Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host' } }));
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Rejected', stage: 'kubelet', reason: 'AppArmor' } });
  });
  it('CreateContainerError takes the waiting message', () => {
    const verdict = classify(raw({ pod: { phase: 'Pending', containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'CreateContainerError', message: 'failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found x' } } }] } }));
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'CreateContainerError', stage: 'runtime', reason: 'CreateContainerError', message: 'failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found x' } });
  });
  it('a container that failed to start (StartError) is a runtime failure with that reason', () => {
    const verdict = classify(raw({ pod: { phase: 'Running', containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 128, reason: 'StartError', message: 'apparmor failed to apply profile' } } }] } }));
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'CreateContainerError', reason: 'StartError', message: 'apparmor failed to apply profile' } });
  });
  it('a container that ran and exited (CrashLoopBackOff after a normal exit) counts as Run', () => {
    const verdict = classify(raw({ pod: { phase: 'Running', containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 0, reason: 'Completed' } } }] } }));
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Run', stage: 'runtime', reason: '', message: '' } });
  });
  it('Run carries what exec read in each container; unread containers stay unknown', () => {
    const verdict = classify(raw({
      containers: [{ name: 'a', kind: 'containers' }, { name: 'b', kind: 'containers' }],
      pod: { phase: 'Running', containerStatuses: [{ name: 'a', state: { running: {} } }, { name: 'b', state: { terminated: { exitCode: 0 } } }] },
      exec: { a: { procAttrCurrent: 'cri-containerd.apparmor.d (enforce)' } },
    }));
    expect(verdict.kind === 'decided' && verdict.observation.containers.map((c) => [c.name, c.state, c.profile])).toEqual([['a', 'Running', 'cri-containerd.apparmor.d (enforce)'], ['b', 'Terminated', undefined]]);
  });
  it('waits while containers are being created or an init container runs', () => {
    expect(classify(raw({ pod: { phase: 'Pending', containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'ContainerCreating' } } }] } })).kind).toBe('waiting');
    expect(classify(raw({ pod: { phase: 'Pending' } })).kind).toBe('waiting');
    expect(classify(raw({ pod: null })).kind).toBe('waiting');
    const init = raw({ containers: [{ name: 'init', kind: 'initContainers' }, { name: 'app', kind: 'containers' }], pod: { phase: 'Pending', initContainerStatuses: [{ name: 'init', state: { running: {} } }], containerStatuses: [{ name: 'app', state: { waiting: { reason: 'PodInitializing' } } }] } });
    expect(classify(init).kind).toBe('waiting');
  });
  it('an init container failing in the runtime decides the pod', () => {
    const init = raw({ containers: [{ name: 'init', kind: 'initContainers' }, { name: 'app', kind: 'containers' }], pod: { phase: 'Pending', initContainerStatuses: [{ name: 'init', state: { waiting: { reason: 'CreateContainerError', message: 'boom' } } }], containerStatuses: [{ name: 'app', state: { waiting: { reason: 'PodInitializing' } } }] } });
    expect(classify(init)).toMatchObject({ kind: 'decided', observation: { outcome: 'CreateContainerError', evidence: 'container init waiting CreateContainerError' } });
  });
  it('image and scheduling trouble is inconclusive, not an outcome', () => {
    expect(classify(raw({ pod: { phase: 'Pending', containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "busybox"' } } }] } }))).toEqual({ kind: 'inconclusive', why: 'container hello ImagePullBackOff: Back-off pulling image "busybox"' });
    expect(classify(raw({ pod: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] } }))).toEqual({ kind: 'inconclusive', why: 'pod unschedulable: 0/1 nodes are available' });
    // ErrImagePull may resolve on the next try.
    expect(classify(raw({ pod: { phase: 'Pending', containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'ErrImagePull' } } }] } })).kind).toBe('waiting');
  });
  it('ignores the kubelet Failed events about images when looking for a runtime error', () => {
    const verdict = classify(raw({ pod: { phase: 'Pending' }, events: [{ type: 'Warning', reason: 'Failed', message: 'Error: ErrImagePull', source: 'kubelet' }] }));
    expect(verdict.kind).toBe('waiting');
  });
});
