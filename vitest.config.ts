import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/conformance/**'],
          // KUBECONFIG points at a listener that fails the run when anything connects (npm test never touches a cluster).
          globalSetup: ['test/setup/kube-tripwire.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          // Runs only as `npm run test:conformance`, and contacts a cluster only with APPARMOR_SIM_KIND or
          // APPARMOR_SIM_KUBECONFIG set (test/conformance/cluster.test.ts).
          name: 'conformance',
          include: ['test/conformance/**/*.test.ts'],
          // Real clusters are slow: a scenario may wait minutes for a node to report.
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});
