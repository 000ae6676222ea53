// Generates what `kubectl get pods -A -o json` prints for a big cluster: a List indented with 4 spaces, items first,
// each pod with the metadata, managedFields, spec and status a real API server returns. Used by bench/run.mjs.
import { closeSync, openSync, writeSync } from 'node:fs';

const REQUESTS = ['runtime/default', 'localhost/k8s-apparmor-example-deny-write', 'unconfined', 'localhost/missing-profile'];

export function kubectlPod(i) {
  const namespace = ['default', 'kube-system', 'shop-prod', 'shop-staging', 'monitoring'][i % 5];
  const app = `app-${i % 400}`;
  const hash = (i * 2654435761 >>> 0).toString(36).padStart(7, '0').slice(0, 10);
  const name = `${app}-${hash}-${(i % 99991).toString(36)}`;
  const node = `node-${i % 3000}`;
  const time = '2026-11-02T09:14:07Z';
  const annotations = {};
  const useAnnotation = i % 4 === 1;
  if (useAnnotation) annotations['container.apparmor.security.beta.kubernetes.io/app'] = REQUESTS[i % REQUESTS.length];
  const securityContext = i % 4 === 2 ? { appArmorProfile: { type: i % 8 === 2 ? 'RuntimeDefault' : 'Localhost', ...(i % 8 === 2 ? {} : { localhostProfile: 'k8s-apparmor-example-deny-write' }) }, allowPrivilegeEscalation: false } : { allowPrivilegeEscalation: false };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      annotations,
      creationTimestamp: time,
      generateName: `${app}-${hash}-`,
      labels: { app, 'pod-template-hash': hash },
      managedFields: [
        {
          apiVersion: 'v1',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { 'f:status': {} } }, 'f:containerStatuses': {}, 'f:phase': {}, 'f:podIP': {} } },
          manager: 'kubelet',
          operation: 'Update',
          subresource: 'status',
          time,
        },
      ],
      name,
      namespace,
      ownerReferences: [{ apiVersion: 'apps/v1', controller: true, kind: 'ReplicaSet', name: `${app}-${hash}`, uid: `0b8f${hash}-4c1e-4a55-9d3e-6f1c2a7b${(i % 10000).toString().padStart(4, '0')}` }],
      resourceVersion: String(1000000 + i),
      uid: `7d2a${hash}-91b0-4f7e-8c55-${(i % 1000000).toString().padStart(12, '0')}`,
    },
    spec: {
      containers: [
        {
          image: `registry.example.com/${app}:1.${i % 20}.0`,
          name: 'app',
          resources: { requests: { cpu: '100m' } },
          securityContext,
        },
      ],
      dnsPolicy: 'ClusterFirst',
      nodeName: node,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [{ effect: 'NoExecute', key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 300 }],
    },
    status: {
      conditions: ['Ready', 'PodScheduled'].map((type) => ({ lastProbeTime: null, lastTransitionTime: time, status: 'True', type })),
      containerStatuses: [{ image: `registry.example.com/${app}:1.${i % 20}.0`, name: 'app', ready: true, restartCount: i % 3, started: true, state: { running: { startedAt: time } } }],
      hostIP: `10.1.${(i >> 8) & 255}.${i & 255}`,
      phase: 'Running',
      podIP: `10.2.${(i >> 8) & 255}.${i & 255}`,
      qosClass: 'Burstable',
      startTime: time,
    },
  };
}

/** Writes the List to `file` a pod at a time; returns its size in bytes. */
export function writeKubectlDump(file, count) {
  const fd = openSync(file, 'w');
  let size = 0;
  const write = (text) => {
    size += writeSync(fd, text);
  };
  try {
    write('{\n    "apiVersion": "v1",\n    "items": [\n');
    const parts = [];
    for (let i = 0; i < count; i++) {
      parts.push(`        ${JSON.stringify(kubectlPod(i), null, 4).replace(/\n/g, '\n        ')}${i + 1 < count ? ',' : ''}\n`);
      if (parts.length === 1000) write(parts.splice(0).join(''));
    }
    write(parts.join(''));
    write('    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n');
  } finally {
    closeSync(fd);
  }
  return size;
}
