// `apparmor-sim node snapshot`: reads a node's AppArmor state and writes the node YAML `dry-run --node` takes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { parseKernelProfiles } from '../../sim/nodefacts/kernel-profiles.js';
import type { LoadedProfile, RuntimeName } from '../../sim/types.js';
import { formatMinor, parseVersion } from '../../sim/version.js';
import type { OptionSpecs } from '../../io/args.js';
import { EXIT, EXIT_CODES_HELP, UsageError, parseCommandLine } from '../../io/args.js';
import { InputFailure, LIMITS, decodeText, readRegularFile, systemMessage } from '../../io/load/source.js';

const OPTIONS = {
  root: { type: 'string' },
  output: { type: 'string', short: 'o' },
  name: { type: 'string' },
} as const satisfies OptionSpecs;

export const NODE_HELP = `Usage: apparmor-sim node snapshot [--root DIR] [--output FILE] [--name NAME]

Reads this node's AppArmor state and writes the node YAML that dry-run --node takes:
  /sys/module/apparmor/parameters/enabled      Y or N
  /sys/kernel/security/apparmor/profiles       the loaded profiles (needs root)
  kubelet --version, containerd --version or crio --version
With --root DIR the files are read under DIR (a copy of another node's), and the versions from
DIR/kubelet-version and DIR/runtime-version (the output of those commands) instead of running them.

Options:
  --root DIR          read the node's files under DIR instead of /
  -o, --output FILE   write the YAML to FILE (default: standard output)
  --name NAME         node name (default: DIR/etc/hostname, or this host's name)
  -h, --help          show this help

${EXIT_CODES_HELP}
`;

export interface NodeSnapshot {
  name: string;
  kubeletVersion?: string | undefined;
  os: 'linux';
  appArmorEnabled: boolean;
  runtime?: RuntimeName | undefined;
  profiles: LoadedProfile[];
}

export interface SnapshotResult {
  node: NodeSnapshot;
  notes: string[];
}

type Run = (command: string, args: string[]) => string | undefined;

function runCommand(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return undefined;
  }
}

/**
 * A node file, capped in size and only if it is a regular file: under --root a file may be a symlink to /dev/zero,
 * /dev/urandom or a FIFO, which would never end or never open.
 */
function readOptional(path: string, maxBytes = SMALL_FILE_BYTES): { text?: string; error?: string } {
  try {
    return { text: decodeText(readRegularFile(path, path, maxBytes), path) };
  } catch (error) {
    if (error instanceof InputFailure) return { error: (error.errors[0]?.message ?? 'unreadable').replace(/^cannot read: /, '').replace(/; name a file, or pipe .*$/, '') };
    return { error: systemMessage(error) };
  }
}

/** Version files, hostname, the enabled flag: a few bytes each. */
const SMALL_FILE_BYTES = 64 * 1024;

/** Reads the node facts under `root` ('/' for this host); never throws for a missing file, it notes it. */
export function snapshotNode(options: { root?: string | undefined; name?: string | undefined; run?: Run | undefined }): SnapshotResult {
  const notes: string[] = [];
  const root = options.root === undefined ? '/' : resolve(options.root);
  const at = (path: string) => join(root, path);
  const enabledPath = 'sys/module/apparmor/parameters/enabled';
  const profilesPath = 'sys/kernel/security/apparmor/profiles';

  let appArmorEnabled = false;
  const enabled = readOptional(at(enabledPath));
  if (enabled.text === undefined) {
    notes.push(`${at(enabledPath)}: ${enabled.error ?? 'unreadable'}: the AppArmor module is not loaded (or not built into the kernel); appArmorEnabled: false`);
  } else if (enabled.text.trim() === 'Y') {
    appArmorEnabled = true;
  } else {
    notes.push(`${at(enabledPath)} says ${JSON.stringify(enabled.text.trim())}: AppArmor is disabled in the kernel (apparmor=0 on the kernel command line?); appArmorEnabled: false`);
  }

  let profiles: LoadedProfile[] = [];
  const listed = readOptional(at(profilesPath), LIMITS.maxFileBytes);
  if (listed.text === undefined) {
    if (listed.error === 'permission denied') {
      notes.push(`${at(profilesPath)}: permission denied: run as root to list the loaded profiles; profiles left empty`);
    } else {
      notes.push(`${at(profilesPath)}: ${listed.error ?? 'unreadable'}: securityfs is not mounted at /sys/kernel/security or AppArmor is off; the kubelet then reports AppArmor as disabled; appArmorEnabled: false`);
      appArmorEnabled = false;
    }
  } else {
    const parsed = parseKernelProfiles(listed.text);
    // A million bad lines make a million notes: the first few and a count.
    for (const error of parsed.errors.slice(0, LIMITS.maxReportedNotes)) notes.push(`${at(profilesPath)}:${error.line}: ${error.message} (line skipped)`);
    if (parsed.errors.length > LIMITS.maxReportedNotes) notes.push(`${at(profilesPath)}: ${parsed.errors.length - LIMITS.maxReportedNotes} more lines skipped`);
    notes.push(...parsed.warnings.slice(0, LIMITS.maxReportedNotes).map((w) => `${at(profilesPath)}: ${w}`));
    if (parsed.warnings.length > LIMITS.maxReportedNotes) notes.push(`${at(profilesPath)}: ${parsed.warnings.length - LIMITS.maxReportedNotes} more warnings not shown`);
    profiles = parsed.profiles;
  }

  const run = options.run ?? runCommand;
  const kubeletText = options.root !== undefined ? readOptional(at('kubelet-version')).text : run('kubelet', ['--version']);
  let kubeletVersion: string | undefined;
  if (kubeletText === undefined) {
    notes.push(options.root !== undefined ? `${at('kubelet-version')}: not found (write the output of "kubelet --version" there); kubeletVersion left out` : 'kubelet --version: could not run kubelet; kubeletVersion left out (dry-run uses --kubelet-version or the API server version)');
  } else {
    const match = /v?1\.\d+(\.\d+)?/.exec(kubeletText);
    const parsed = match ? parseVersion(match[0]) : undefined;
    if (parsed?.ok) kubeletVersion = formatMinor(parsed.minor);
    else notes.push(`kubelet version ${JSON.stringify(kubeletText.trim())}: ${parsed && !parsed.ok ? parsed.message : 'no version in it'}; kubeletVersion left out`);
  }

  let runtime: RuntimeName | undefined;
  const runtimeText = options.root !== undefined ? readOptional(at('runtime-version')).text : (run('containerd', ['--version']) ?? run('crio', ['--version']));
  if (runtimeText === undefined) {
    notes.push(options.root !== undefined ? `${at('runtime-version')}: not found (write the output of "containerd --version" or "crio --version" there); runtime left out` : 'neither containerd --version nor crio --version ran; runtime left out');
  } else if (/containerd/i.test(runtimeText)) {
    runtime = 'containerd';
  } else if (/crio|cri-o/i.test(runtimeText)) {
    runtime = 'cri-o';
  } else {
    notes.push(`runtime version ${JSON.stringify(runtimeText.trim().split('\n')[0])}: neither containerd nor CRI-O; runtime left out`);
  }

  const hostFile = options.root !== undefined ? readOptional(at('etc/hostname')).text?.trim() : undefined;
  const name = options.name ?? (hostFile || (options.root === undefined ? hostname() : 'node-1'));
  return { node: { name, kubeletVersion, os: 'linux', appArmorEnabled, runtime, profiles }, notes };
}

export function snapshotYaml({ node, notes }: SnapshotResult): string {
  const header = ['# Node facts from "apparmor-sim node snapshot"; use with: apparmor-sim dry-run <pods> --node <this file>', ...notes.map((n) => `# note: ${n.replace(/\n/g, ' ')}`)];
  const body: Record<string, unknown> = { name: node.name };
  if (node.kubeletVersion !== undefined) body['kubeletVersion'] = node.kubeletVersion;
  body['os'] = node.os;
  body['appArmorEnabled'] = node.appArmorEnabled;
  if (node.runtime !== undefined) body['runtime'] = node.runtime;
  body['profiles'] = node.profiles.map((p) => ({ name: p.name, mode: p.mode }));
  return `${header.join('\n')}\n${stringify(body)}`;
}

export async function runNode(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseCommandLine(argv, OPTIONS, 'node');
  if (help) {
    process.stdout.write(NODE_HELP);
    return EXIT.ok;
  }
  const [sub, ...rest] = positionals;
  if (sub !== 'snapshot') throw new UsageError(sub === undefined ? 'node needs a subcommand: snapshot' : `unknown subcommand ${JSON.stringify(sub)} (expected: snapshot)`, true);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0] ?? ''}`, true);
  const result = snapshotNode({ root: values.root, name: values.name });
  for (const note of result.notes) process.stderr.write(`apparmor-sim: note: ${note}\n`);
  const yaml = snapshotYaml(result);
  if (values.output !== undefined) {
    try {
      writeFileSync(values.output, yaml);
    } catch (error) {
      throw new UsageError(`--output: cannot write ${values.output}: ${systemMessage(error)}`);
    }
  } else {
    process.stdout.write(yaml);
  }
  return EXIT.ok;
}
