// --profiles: what the node has loaded, from whichever of three sources the user has at hand.
import { statSync } from 'node:fs';
import type { LoadedProfile } from '../../sim/types.js';
import { InputFailure, readTextFile } from '../../io/load/source.js';
import { parseAaStatus } from '../../sim/nodefacts/aa-status.js';
import { parseKernelProfiles } from '../../sim/nodefacts/kernel-profiles.js';
import { loadProfileFiles } from '../../io/load/profile-files.js';

export interface NodeProfiles {
  profiles: LoadedProfile[];
  /** false when the source says the kernel module is not loaded (aa-status). */
  appArmorEnabled: boolean | undefined;
  notes: string[];
}

export type ProfileSourceKind = 'kernel-profiles' | 'aa-status' | 'profile-sources';

// `name (mode)` per line, as /sys/kernel/security/apparmor/profiles prints.
// Any parenthesised word: a mode this build does not know is then reported by the kernel-list reader, with its line.
const KERNEL_LINE = /^\S.* \([a-z_]+\)$/;
// Phrases every aa-status text report has, and what it prints instead when AppArmor is absent or unreadable
// (apparmor binutils/aa_status.c, 3.0: "apparmor not present.", "apparmor filesystem is not mounted.", "You do not
// have enough privilege to read the profile set."; the Python aa-status before it: "apparmor module is not loaded.").
const AA_STATUS_TEXT = /apparmor module is (not )?loaded|apparmor filesystem is not mounted|apparmor not present|you do not have enough privilege to read the profile set|profiles are loaded|profiles are in (enforce|complain) mode/i;

/** Tells the formats apart by content; profile sources are the fallback, so any mistake there reports parse errors. */
export function detectProfileSource(text: string): ProfileSourceKind {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return 'aa-status';
  if (AA_STATUS_TEXT.test(trimmed)) return 'aa-status';
  const lines = trimmed.split('\n').filter((line) => line.trim() !== '');
  if (lines.length > 0 && lines.every((line) => KERNEL_LINE.test(line.trim()))) return 'kernel-profiles';
  return 'profile-sources';
}

export async function loadNodeProfiles(path: string, label: string): Promise<NodeProfiles> {
  const isFile = statFile(path, label);
  const kind = isFile ? detectProfileSource(readTextFile(path, label)) : 'profile-sources';
  if (kind === 'profile-sources') return fromSources(path, label);
  return fromNodeFacts(kind, readTextFile(path, label), label);
}

function statFile(path: string, label: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    throw new InputFailure([{ file: label, message: 'cannot read: no such file or directory' }]);
  }
}

async function fromSources(path: string, label: string): Promise<NodeProfiles> {
  const loaded = await loadProfileFiles([path]);
  if ('errors' in loaded) {
    throw new InputFailure(loaded.errors.map((e) => ({ file: e.file === path ? label : e.file, line: e.line, message: e.message })));
  }
  return { profiles: [...loaded.profiles], appArmorEnabled: undefined, notes: [...loaded.warnings] };
}

function fromNodeFacts(kind: Exclude<ProfileSourceKind, 'profile-sources'>, text: string, label: string): NodeProfiles {
  const status = kind === 'aa-status' ? parseAaStatus(text) : undefined;
  const parsed = status ?? parseKernelProfiles(text);
  if (parsed.errors.length > 0) throw new InputFailure(parsed.errors.map((e) => ({ file: label, line: e.line, message: e.message })));
  return { profiles: parsed.profiles, appArmorEnabled: status?.enabled, notes: parsed.warnings.map((w) => `${label}: ${w}`) };
}
