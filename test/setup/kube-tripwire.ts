// Global setup of the unit project: `npm test` must never contact a cluster, even on a machine whose KUBECONFIG or
// ~/.kube/config points at one. For the whole run KUBECONFIG names a kubeconfig whose API server is a TCP listener on
// 127.0.0.1 that only counts connections; any connection (from a test, or a CLI a test spawns with the inherited
// environment) fails the run at teardown. Tests that talk to their own local stand-in servers pass --kubeconfig or an
// explicit file and are not affected.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const connections: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections.push(`${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'kube-tripwire-'));
  const file = join(dir, 'config');
  writeFileSync(file, tripwireKubeconfig(port));
  const previous = process.env['KUBECONFIG'];
  process.env['KUBECONFIG'] = file;
  process.env['APPARMOR_SIM_TRIPWIRE_PORT'] = String(port);
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
    if (previous === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = previous;
    if (connections.length > 0) {
      console.error(`npm test contacted the cluster of KUBECONFIG (${connections.length} connection(s) to the tripwire API server 127.0.0.1:${port}); unit tests must never touch a cluster`);
      process.exitCode = 1;
    }
  };
}

export function tripwireKubeconfig(port: number): string {
  return ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: tripwire', '  cluster:', `    server: https://127.0.0.1:${port}`, '    insecure-skip-tls-verify: true', 'users:', '- name: tripwire', '  user:', '    token: tripwire', 'contexts:', '- name: tripwire', '  context: {cluster: tripwire, user: tripwire}', 'current-context: tripwire', ''].join('\n');
}
