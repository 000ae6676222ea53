// /sys/kernel/security/apparmor/profiles: one `name (mode)` line per loaded profile, hats as `parent//hat (mode)`.
// The kubelet read this same file to decide whether a profile was loaded (pkg/security/apparmor/validate.go,
// getLoadedProfiles, 1.4-1.23), so the reader follows its parsing: the mode is the last parenthesised word.
import type { ProfileMode } from '../types.js';
import { PROFILE_MODES } from '../types.js';
import type { ProfileList } from './result.js';

const LINE = /^(.+) \(([a-z_]+)\)$/;

export function parseKernelProfiles(text: string): ProfileList {
  const result: ProfileList = { profiles: [], errors: [], warnings: [] };
  const seen = new Set<string>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const match = LINE.exec(line);
    if (!match) {
      result.errors.push({ line: index + 1, message: `not a "name (mode)" line: ${JSON.stringify(truncate(line))}` });
      return;
    }
    const name = match[1] ?? '';
    const mode = match[2] ?? '';
    if (!isMode(mode)) {
      result.errors.push({ line: index + 1, message: `unknown profile mode ${JSON.stringify(mode)} (expected one of: ${PROFILE_MODES.join(', ')})` });
      return;
    }
    if (seen.has(name)) return;
    seen.add(name);
    result.profiles.push({ name, mode });
  });
  if (result.errors.length === 0 && result.profiles.length === 0) result.warnings.push('the profile list is empty: no profile is loaded');
  return result;
}

export function isMode(value: string): value is ProfileMode {
  return (PROFILE_MODES as readonly string[]).includes(value);
}

export function truncate(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
