// `npm test` never contacts a cluster, even when KUBECONFIG and ~/.kube/config point at one. Checked three ways: the
// test script runs only the unit project, whose global setup (test/setup/kube-tripwire.ts) points KUBECONFIG at a
// listener that fails the run on any connection; and the cluster test file itself, run here with KUBECONFIG and
// ~/.kube/config aimed at a counting listener and no opt-in variable, skips without opening a connection.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../conformance/k8s-client.js';
import { tripwireKubeconfig } from '../setup/kube-tripwire.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'no-cluster-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A TCP listener on 127.0.0.1 that counts connections and closes them. */
async function countingServer(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, count: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('npm test and clusters', () => {
  it('the test script runs the unit project only, with the KUBECONFIG tripwire as its global setup', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['test']).toMatch(/vitest run --project unit$/);
    expect(process.env['KUBECONFIG'], 'the global setup points KUBECONFIG at the tripwire').toMatch(/kube-tripwire-[^/]+\/config$/);
    expect(readFileSync(process.env['KUBECONFIG'] ?? '', 'utf8')).toContain(`server: https://127.0.0.1:${process.env['APPARMOR_SIM_TRIPWIRE_PORT'] ?? 'none'}`);
  });

  it('a counting listener does see a client that connects (the check can fail)', async () => {
    const server = await countingServer();
    const file = join(dir, 'positive');
    writeFileSync(file, tripwireKubeconfig(server.port));
    const connection = await connect({ kubeconfig: file, timeoutMs: 5000 });
    await connection.api.serverVersion().catch(() => undefined);
    await server.close();
    expect(server.count()).toBeGreaterThan(0);
  });

  it('the cluster tests, without APPARMOR_SIM_KIND or APPARMOR_SIM_KUBECONFIG, skip and open no connection although KUBECONFIG and ~/.kube/config name a server', async () => {
    const server = await countingServer();
    const home = join(dir, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), tripwireKubeconfig(server.port));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, tripwireKubeconfig(server.port));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, KUBECONFIG: kubeconfig, CI: '' };
    delete env['APPARMOR_SIM_KIND'];
    delete env['APPARMOR_SIM_KUBECONFIG'];
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'conformance'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    await server.close();
    expect(run.status, run.stderr).toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('conformance tests skipped: no cluster asked for; set APPARMOR_SIM_KIND=<version>');
    expect(server.count()).toBe(0);
  });
});
