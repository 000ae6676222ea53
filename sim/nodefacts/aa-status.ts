// `aa-status` (apparmor-utils) as a node operator pastes it: the text report, or `aa-status --json`/`--pretty-json`
// (apparmor 2.13+: {"version": "1", "profiles": {"name": "enforce", ...}, "processes": {...}}).
// Text report lines, from binutils/aa_status.c (apparmor 3.x) and the older utils/aa-status Python script:
//   apparmor module is loaded. | apparmor module is not loaded. | apparmor filesystem is not mounted.
//   N profiles are loaded. / N profiles are in enforce mode. / indented names / ... / N processes have profiles defined.
import type { LoadedProfile } from '../types.js';
import { isMode, truncate } from './kernel-profiles.js';
import type { NodeFactsProblem } from './result.js';

export interface AaStatus {
  /** false when aa-status says the module is not loaded or securityfs is not mounted. */
  enabled: boolean;
  profiles: LoadedProfile[];
  errors: NodeFactsProblem[];
  warnings: string[];
}

const MODULE_LOADED = /^apparmor module is loaded\.?$/i;
const MODULE_ABSENT = /^(apparmor module is not loaded|apparmor filesystem is not mounted|apparmor not present)\.?$/i;
const PROFILE_HEADER = /^(\d+) profiles? (?:are|is) in ([a-z_]+) mode\.?$/i;
const OTHER_HEADER = /^(\d+) (profiles?|processes|process) /i;

export function parseAaStatus(text: string): AaStatus {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseJson(trimmed);
  return parseText(text);
}

function parseText(text: string): AaStatus {
  const status: AaStatus = { enabled: false, profiles: [], errors: [], warnings: [] };
  let sawModuleLine = false;
  let section: { mode: LoadedProfile['mode']; expected: number; found: number; line: number } | undefined;
  let inProcesses = false;
  const closeSection = () => {
    if (section && section.found !== section.expected) {
      status.errors.push({ line: section.line, message: `header announces ${section.expected} ${section.mode} profiles but ${section.found} are listed (truncated paste?)` });
    }
    section = undefined;
  };
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.replace(/\r$/, '');
    const body = line.trim();
    if (body === '') return;
    if (MODULE_LOADED.test(body)) {
      sawModuleLine = true;
      status.enabled = true;
      return;
    }
    if (MODULE_ABSENT.test(body)) {
      sawModuleLine = true;
      status.enabled = false;
      return;
    }
    const header = PROFILE_HEADER.exec(body);
    if (header) {
      closeSection();
      const mode = (header[2] ?? '').toLowerCase();
      if (!isMode(mode)) {
        status.errors.push({ line: lineNo, message: `unknown profile mode ${JSON.stringify(mode)}` });
        return;
      }
      inProcesses = false;
      section = { mode, expected: Number(header[1]), found: 0, line: lineNo };
      return;
    }
    if (OTHER_HEADER.test(body)) {
      closeSection();
      inProcesses = /process/i.test(body);
      return;
    }
    if (/^you do not have enough privilege/i.test(body)) {
      status.errors.push({ line: lineNo, message: 'aa-status could not read the profile list (run it as root)' });
      return;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (inProcesses) return;
      if (section) {
        section.found++;
        status.profiles.push({ name: body, mode: section.mode });
        return;
      }
    }
    status.errors.push({ line: lineNo, message: `not aa-status output: ${JSON.stringify(truncate(body))}` });
  });
  closeSection();
  if (!sawModuleLine && status.errors.length === 0) {
    status.errors.push({ line: 1, message: 'not aa-status output: no "apparmor module is loaded." line' });
  }
  return status;
}

function parseJson(text: string): AaStatus {
  const status: AaStatus = { enabled: true, profiles: [], errors: [], warnings: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    status.errors.push({ message: `aa-status --json output is not valid JSON: ${error instanceof Error ? error.message : String(error)}` });
    return status;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    status.errors.push({ line: 1, message: 'aa-status --json output must be an object' });
    return status;
  }
  const profiles = (value as Record<string, unknown>)['profiles'];
  if (profiles === null || typeof profiles !== 'object' || Array.isArray(profiles)) {
    status.errors.push({ line: 1, message: 'aa-status --json output has no "profiles" object' });
    return status;
  }
  for (const [name, mode] of Object.entries(profiles as Record<string, unknown>)) {
    if (typeof mode !== 'string' || !isMode(mode)) {
      // Not JSON.stringify(mode): a hostile file nests 100,000 levels deep there.
      status.errors.push({ message: `profile ${JSON.stringify(truncate(name))}: unknown mode ${typeof mode === 'string' ? JSON.stringify(truncate(mode)) : describeJson(mode)}` });
      continue;
    }
    status.profiles.push({ name, mode });
  }
  return status;
}

function describeJson(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
