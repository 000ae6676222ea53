import type { Minor } from './types.js';

/** The Kubernetes minors whose AppArmor handling this model encodes. */
export const FIRST_APPARMOR_MINOR: Minor = 4;
export const NEWEST_MODELLED_MINOR: Minor = 35;
/** Versions below 1.4 are accepted so that their silent ignoring of the annotations can be shown. */
export const OLDEST_ACCEPTED_MINOR: Minor = 0;

export type VersionParse = { ok: true; minor: Minor } | { ok: false; message: string };

/** Accepts "1.17", "v1.17", "1.17.3", "v1.30.0-rc.1" and the number 1.17 (YAML reads an unquoted 1.17 as a float). */
export function parseVersion(input: unknown): VersionParse {
  let text: string;
  if (typeof input === 'number') {
    text = String(input);
    // YAML reads an unquoted 1.20 as the float 1.2; 1.1-1.3 cannot be told apart from 1.10-1.30.
    if (/^1\.[123]$/.test(text)) {
      return { ok: false, message: `version ${text} is ambiguous as a YAML number (1.${text.slice(2)} or 1.${text.slice(2)}0?): quote it, e.g. "1.${text.slice(2)}0"` };
    }
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    return { ok: false, message: `version must be a string like "1.30", got ${describeType(input)}` };
  }
  const match = /^v?1\.(\d{1,3})(?:\.\d{1,4})?(?:[-+][0-9A-Za-z.-]*)?$/.exec(text);
  if (!match) {
    return { ok: false, message: `invalid Kubernetes version ${JSON.stringify(text)}: expected 1.<minor>, e.g. "1.30" or "v1.30.2"` };
  }
  const minor = Number(match[1]);
  if (minor > NEWEST_MODELLED_MINOR) {
    return {
      ok: false,
      message: `unknown Kubernetes version 1.${minor}: this model knows 1.${OLDEST_ACCEPTED_MINOR} to 1.${NEWEST_MODELLED_MINOR}`,
    };
  }
  return { ok: true, minor };
}

export function formatMinor(minor: Minor): string {
  return `1.${minor}`;
}

/** An inclusive range of minors; `to` absent means "and every later version". */
export interface VersionRange {
  from: Minor;
  to?: Minor;
}

export function inRange(minor: Minor, range: VersionRange): boolean {
  return minor >= range.from && (range.to === undefined || minor <= range.to);
}

export function formatRange(range: VersionRange): string {
  if (range.to === undefined) return `${formatMinor(range.from)}+`;
  if (range.to === range.from) return formatMinor(range.from);
  return `${formatMinor(range.from)}-${formatMinor(range.to)}`;
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}
