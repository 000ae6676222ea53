import type { Check } from '../check.js';
import { skip } from '../check.js';
import type { Minor } from '../types.js';

/**
 * Which API versions serve each workload kind by default. kubectl maps the manifest's apiVersion/kind through the
 * server's discovery; a version the server does not serve fails in kubectl ("no matches for kind ... in version ...")
 * before anything is sent. Sources: CHANGELOG-1.16 (extensions/v1beta1, apps/v1beta1 and apps/v1beta2 workloads no
 * longer served), CHANGELOG-1.9 (apps/v1 GA), CHANGELOG-1.8 (batch/v1beta1 CronJob), CHANGELOG-1.21 (batch/v1 CronJob),
 * CHANGELOG-1.25 (batch/v1beta1 CronJob no longer served), CHANGELOG-1.5 (StatefulSet apps/v1beta1).
 */
const SERVED: Readonly<Record<string, readonly { apiVersion: string; from: Minor; to?: Minor }[]>> = {
  Deployment: [{ apiVersion: 'extensions/v1beta1', from: 2, to: 15 }, { apiVersion: 'apps/v1beta1', from: 6, to: 15 }, { apiVersion: 'apps/v1beta2', from: 8, to: 15 }, { apiVersion: 'apps/v1', from: 9 }],
  DaemonSet: [{ apiVersion: 'extensions/v1beta1', from: 2, to: 15 }, { apiVersion: 'apps/v1beta2', from: 8, to: 15 }, { apiVersion: 'apps/v1', from: 9 }],
  ReplicaSet: [{ apiVersion: 'extensions/v1beta1', from: 2, to: 15 }, { apiVersion: 'apps/v1beta2', from: 8, to: 15 }, { apiVersion: 'apps/v1', from: 9 }],
  StatefulSet: [{ apiVersion: 'apps/v1beta1', from: 5, to: 15 }, { apiVersion: 'apps/v1beta2', from: 8, to: 15 }, { apiVersion: 'apps/v1', from: 9 }],
  Job: [{ apiVersion: 'batch/v1', from: 2 }],
  CronJob: [{ apiVersion: 'batch/v1beta1', from: 8, to: 24 }, { apiVersion: 'batch/v1', from: 21 }],
  ReplicationController: [{ apiVersion: 'v1', from: 0 }],
  PodTemplate: [{ apiVersion: 'v1', from: 0 }],
};

export const workloadServed: Check = {
  id: 'workload-api-version-served',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0 },
  source: 'CHANGELOG-1.5, -1.8, -1.9, -1.16, -1.21, -1.25 (workload API versions served by default)',
  run(ctx, apiserver) {
    const workload = ctx.workload;
    const served = workload ? SERVED[workload.kind] : undefined;
    if (!workload || !served || !ctx.workloadApiVersion) return skip('nothing to check');
    const entry = served.find((s) => s.apiVersion === ctx.workloadApiVersion);
    if (entry && apiserver >= entry.from && (entry.to === undefined || apiserver <= entry.to)) return skip(`${ctx.workloadApiVersion} ${workload.kind} is served by 1.${apiserver}`);
    const where = served.filter((s) => apiserver >= s.from && (s.to === undefined || apiserver <= s.to)).map((s) => s.apiVersion);
    const note = `a 1.${apiserver} API server does not serve ${workload.kind} in ${ctx.workloadApiVersion} by default${where.length ? ` (it serves ${where.join(', ')})` : ''}: kubectl apply fails with no matches for kind "${workload.kind}" in version "${ctx.workloadApiVersion}"; the model simulates the ${workload.kind} anyway`;
    return { verdict: 'info', detail: note, notes: [note] };
  },
};
