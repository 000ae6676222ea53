// Focused checks of the model's decision logic, each asserting upstream behaviour (sources in the test names/comments).
import { describe, expect, it } from 'vitest';
import { CREATE_PIPELINE, simulate } from '../sim/simulate.js';
import type { ClusterFacts, Container, NodeFacts, Pod } from '../sim/types.js';

const KEY = 'container.apparmor.security.beta.kubernetes.io/';

function cluster(version: number, extra: Partial<ClusterFacts> = {}): ClusterFacts {
  return { version, featureGates: {}, namespace: { name: 'default', labels: {} }, podSecurityPolicies: [], ...extra };
}
function node(kubeletVersion: number, extra: Partial<NodeFacts> = {}): NodeFacts {
  return { name: 'node-1', kubeletVersion, featureGates: {}, os: 'linux', appArmorEnabled: true, runtime: kubeletVersion < 24 ? 'docker' : 'containerd', profiles: [], ...extra };
}
function container(name: string, extra: Partial<Container> = {}): Container {
  return { kind: 'containers', name, privileged: false, ...extra };
}
function pod(extra: Partial<Pod> = {}): Pod {
  return { name: 'p', annotations: {}, containers: [container('ctr')], ...extra };
}

describe('trace', () => {
  it('records every create-pipeline check once, each with an upstream source', () => {
    const decision = simulate({ cluster: cluster(30), node: node(30), pod: pod({ annotations: { [KEY + 'ctr']: 'runtime/default' } }) });
    for (const check of CREATE_PIPELINE) {
      const entries = decision.trace.filter((t) => t.check === check.id);
      expect(entries, check.id).toHaveLength(1);
      expect(entries[0]?.source.length, `${check.id} source`).toBeGreaterThan(0);
    }
  });

  it('selects kubelet checks by the kubelet version, not the API server version (version skew)', () => {
    const decision = simulate({ cluster: cluster(31), node: node(30, { appArmorEnabled: false }), pod: pod({ annotations: { [KEY + 'ctr']: 'runtime/default' } }) });
    const kubeletEntries = decision.trace.filter((t) => t.stage === 'kubelet');
    expect(kubeletEntries.length).toBeGreaterThan(0);
    for (const entry of kubeletEntries) expect(entry.component).toBe('kubelet 1.30');
    expect(decision.outcome).toBe('Blocked');
  });
});

describe('storedPod after applyAppArmorVersionSkew (k/k pkg/registry/core/pod/strategy_test.go TestApplyAppArmorVersionSkew)', () => {
  it('1.30: "Container field localhost and no annotation present" adds the annotation', () => {
    const decision = simulate({
      cluster: cluster(30),
      node: node(30, { profiles: [{ name: 'test', mode: 'enforce' }] }),
      pod: pod({ containers: [container('ctr', { appArmorProfile: { type: 'Localhost', localhostProfile: 'test' } })] }),
    });
    expect(decision.storedPod?.annotations).toEqual({ [KEY + 'ctr']: 'localhost/test' });
    expect(decision.storedPod?.containers[0]?.appArmorProfile).toEqual({ type: 'Localhost', localhostProfile: 'test' });
  });

  it('1.30: "Pod field unconfined and no annotation present" annotates init and regular containers', () => {
    const decision = simulate({
      cluster: cluster(30),
      node: node(30),
      pod: pod({ appArmorProfile: { type: 'Unconfined' }, containers: [container('init', { kind: 'initContainers' }), container('ctr')] }),
    });
    expect(decision.storedPod?.annotations).toEqual({ [KEY + 'init']: 'unconfined', [KEY + 'ctr']: 'unconfined' });
  });

  it('1.34: fields are no longer copied to annotations (PR #131989)', () => {
    const decision = simulate({
      cluster: cluster(34),
      node: node(34, { profiles: [{ name: 'test', mode: 'enforce' }] }),
      pod: pod({ containers: [container('ctr', { appArmorProfile: { type: 'Localhost', localhostProfile: 'test' } })] }),
    });
    expect(decision.storedPod?.annotations).toEqual({});
  });

  it('1.30: "Multiple containers by annotations" copies a and init, fills b from the pod field, leaves c, warns', () => {
    const decision = simulate({
      cluster: cluster(30),
      node: node(30, { profiles: [{ name: 'test', mode: 'enforce' }] }),
      pod: pod({
        annotations: { [KEY + 'init']: 'unconfined', [KEY + 'a']: 'localhost/test', [KEY + 'c']: 'runtime/default' },
        appArmorProfile: { type: 'RuntimeDefault' },
        containers: [container('init', { kind: 'initContainers' }), container('a'), container('b'), container('c')],
      }),
    });
    const stored = decision.storedPod;
    expect(stored?.annotations).toEqual({
      [KEY + 'init']: 'unconfined',
      [KEY + 'a']: 'localhost/test',
      [KEY + 'b']: 'runtime/default',
      [KEY + 'c']: 'runtime/default',
    });
    const byName = (name: string) => stored?.containers.find((c) => c.name === name)?.appArmorProfile;
    expect(byName('init')).toEqual({ type: 'Unconfined' });
    expect(byName('a')).toEqual({ type: 'Localhost', localhostProfile: 'test' });
    expect(byName('b')).toBeUndefined();
    expect(byName('c')).toBeUndefined();
    expect(stored?.appArmorProfile).toEqual({ type: 'RuntimeDefault' });
    expect(decision.warnings.some((w) => w.startsWith(`metadata.annotations[${KEY}init]: deprecated since v1.30`))).toBe(true);
  });

  it('1.31: "Pod field and matching annotations" neither copies nor warns', () => {
    const decision = simulate({
      cluster: cluster(31),
      node: node(31),
      pod: pod({ annotations: { [KEY + 'ctr']: 'runtime/default' }, appArmorProfile: { type: 'RuntimeDefault' } }),
    });
    expect(decision.storedPod?.containers[0]?.appArmorProfile).toBeUndefined();
    expect(decision.warnings.filter((w) => w.includes('deprecated since v1.30'))).toEqual([]);
  });

  it('1.30: "Conflicting field and annotations" is left for validation, which refuses it', () => {
    const decision = simulate({
      cluster: cluster(30),
      node: node(30),
      pod: pod({ annotations: { [KEY + 'ctr']: 'localhost/test' }, containers: [container('ctr', { appArmorProfile: { type: 'RuntimeDefault' } })] }),
    });
    expect(decision.outcome).toBe('Forbidden');
    expect(decision.storedPod).toBeNull();
  });

  it('1.29 and earlier never sync (the fields do not exist before kubernetes-1.30.0)', () => {
    const decision = simulate({ cluster: cluster(29), node: node(29), pod: pod({ annotations: { [KEY + 'ctr']: 'runtime/default' } }) });
    expect(decision.storedPod?.containers[0]?.appArmorProfile).toBeUndefined();
    expect(decision.warnings.filter((w) => w.includes('deprecated since v1.30'))).toEqual([]);
  });
});

describe('kubelet admission status (test/e2e_node/apparmor_test.go expectSoftRejection / expectRejection)', () => {
  const request = pod({ annotations: { [KEY + 'ctr']: 'runtime/default' } });

  it('1.5-1.30 soft rejection: containers wait with reason Blocked', () => {
    for (const v of [5, 17, 30]) {
      const decision = simulate({ cluster: cluster(v), node: node(v, { appArmorEnabled: false }), pod: request });
      expect(decision.outcome, `1.${v}`).toBe('Blocked');
      expect(decision.reason).toBe('AppArmor');
      expect(decision.containers.map((c) => [c.state, c.waitingReason])).toEqual([['Waiting', 'Blocked']]);
    }
  });

  it('1.31+ hard rejection: Failed with reason AppArmor, containers not created (CHANGELOG-1.31 #125776)', () => {
    const decision = simulate({ cluster: cluster(31), node: node(31, { appArmorEnabled: false }), pod: request });
    expect(decision.outcome).toBe('Rejected');
    expect(decision.reason).toBe('AppArmor');
    expect(decision.message).toContain('AppArmor');
    expect(decision.containers.every((c) => c.state === 'NotCreated')).toBe(true);
  });

  it('host errors win over profile errors (validateHost runs first; validate_test.go TestValidateBadHost)', () => {
    const decision = simulate({ cluster: cluster(17), node: node(17, { appArmorEnabled: false }), pod: pod({ annotations: { [KEY + 'ctr']: 'localhost/missing' } }) });
    expect(decision.message).toBe('Cannot enforce AppArmor: AppArmor is not enabled on the host');
  });

  it('a pod without AppArmor request is admitted on any host (TestValidateBadHost {"", true})', () => {
    for (const v of [4, 17, 31, 35]) {
      const decision = simulate({ cluster: cluster(v), node: node(v, { appArmorEnabled: false }), pod: pod() });
      expect(decision.outcome, `1.${v}`).toBe('Run');
    }
  });
});

describe('API refusals store nothing', () => {
  it('an invalid annotation yields 422 Invalid and no stored pod', () => {
    const decision = simulate({ cluster: cluster(17), node: node(17), pod: pod({ annotations: { [KEY + 'ctr']: 'docker-default' } }) });
    expect(decision.stage).toBe('apiserver');
    expect(decision.reason).toBe('Invalid');
    expect(decision.storedPod).toBeNull();
    expect(decision.containers.every((c) => c.procAttrCurrent === null)).toBe(true);
  });
});
