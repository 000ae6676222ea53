// Making kind nodes apply AppArmor. kindest/node images (kubernetes-sigs/kind images/base/Dockerfile, debian
// bookworm-slim since kind v0.22) install no apparmor package, and containerd decides once, at start-up, whether the
// host supports AppArmor (containerd pkg/apparmor/apparmor_linux.go hostSupports, a sync.Once): it needs
// /sys/kernel/security/apparmor, no `container` variable in its environment, /sbin/apparmor_parser (checked since
// containerd v1.6.18 and v1.7.0; every image in conformance/images.ts ships a newer one) and enabled=Y. Without the
// parser it refuses runtime/default and every localhost/ profile with "apparmor is not supported"
// (kubernetes-sigs/kind#3704). The kind config mounts securityfs (kind.ts SECURITYFS); systemd starts containerd
// without the node container's `container=docker` variable (services get a fresh environment); this module adds the
// parser and restarts containerd so that hostSupports runs again.
//
// Why `docker exec` into each node rather than a derived image: it works with any node image (--image included)
// without building, tagging or caching images per version, and a CI runner starts from nothing anyway. Why the parser
// binary alone (extracted with dpkg-deb) rather than `apt-get install apparmor`: the package's postinst and its
// apparmor.service load every profile in the node's /etc/apparmor.d into the kernel, which all kind nodes share with
// the host; replacing the host's profiles of the same names is not something a test run may do. The binary needs only
// libc (Debian apparmor 3.0.8: Depends libc6), and containerd runs it to load its own default profile.
import type { ContainerEngine } from './kind.js';
import { kindEnv } from './kind.js';
import type { Exec } from './exec.js';
import { firstLine } from './exec.js';

/** Runs as root in the node container (`<engine> exec <node> sh -c ...`). */
export const PREPARE_NODE_SCRIPT = [
  'set -eu',
  'if [ ! -d /sys/kernel/security/apparmor ]; then echo "apparmor-sim: no /sys/kernel/security/apparmor: the kernel has AppArmor off; nothing to prepare"; exit 0; fi',
  'if [ ! -x /sbin/apparmor_parser ]; then',
  '  export DEBIAN_FRONTEND=noninteractive',
  '  work=$(mktemp -d)',
  '  cd "$work"',
  '  apt-get update -qq',
  '  apt-get download -qq apparmor',
  '  dpkg-deb -x apparmor_*.deb root',
  '  parser=$(find root -path "*sbin/apparmor_parser" -type f | head -n 1)',
  '  if [ -z "$parser" ]; then echo "apparmor-sim: the apparmor package holds no apparmor_parser" >&2; exit 1; fi',
  '  install -m 0755 "$parser" /sbin/apparmor_parser',
  '  cd /',
  '  rm -rf "$work" /var/lib/apt/lists/*',
  'fi',
  '/sbin/apparmor_parser --version | head -n 1',
  // hostSupports is evaluated once per containerd process.
  'systemctl restart containerd',
  'i=0; until crictl info >/dev/null 2>&1; do i=$((i+1)); if [ "$i" -ge 60 ]; then echo "apparmor-sim: containerd did not come back within 60 s after the restart" >&2; exit 1; fi; sleep 1; done',
  'echo "apparmor-sim: node prepared"',
].join('\n');

export function kindGetNodesArgs(name: string): string[] {
  return ['get', 'nodes', '--name', name];
}

export function prepareNodeArgs(node: string): string[] {
  return ['exec', node, 'sh', '-c', PREPARE_NODE_SCRIPT];
}

export interface PreparedNode {
  node: string;
  /** The parser's version line, or the reason nothing was needed. */
  detail: string;
}

/**
 * Prepares every node of a kind cluster (in parallel); rejects with the first node's failure, naming the node, the
 * command and its last error line. Nodes are the containers `kind get nodes` lists.
 */
export async function prepareKindNodes(exec: Exec, engine: ContainerEngine, clusterName: string, signal?: AbortSignal): Promise<PreparedNode[]> {
  const listed = await exec.run('kind', kindGetNodesArgs(clusterName), { timeoutMs: 60_000, env: kindEnv(engine), signal });
  if (listed.exitCode !== 0) throw new Error(`kind get nodes --name ${clusterName} failed: ${firstLine(listed)}`);
  const nodes = listed.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('No kind nodes'));
  if (nodes.length === 0) throw new Error(`kind get nodes --name ${clusterName} listed no nodes`);
  return Promise.all(
    nodes.map(async (node): Promise<PreparedNode> => {
      const result = await exec.run(engine, prepareNodeArgs(node), { timeoutMs: 10 * 60_000, signal });
      if (result.exitCode !== 0) {
        throw new Error(`preparing kind node ${node} for AppArmor (${engine} exec ${node} sh -c ...) failed with exit code ${result.exitCode}: ${lastLine(result.stderr) || lastLine(result.stdout) || 'no output'}`);
      }
      const lines = result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
      const detail = lines.find((l) => l.startsWith('AppArmor parser version')) ?? lines.find((l) => l.startsWith('apparmor-sim: no ')) ?? lines.at(-1) ?? '';
      return { node, detail };
    }),
  );
}

function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).at(-1) ?? '';
}
