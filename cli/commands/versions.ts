// --k8s-version lists and ranges for the version matrix.
import type { Minor } from '../../sim/types.js';
import { formatMinor, parseVersion } from '../../sim/version.js';
import { UsageError } from '../../io/args.js';

/** `1.23,1.24,1.30`, ranges `1.28-1.31`, or one version; sorted, without repeats. */
export function parseVersionList(flag: string, text: string): Minor[] {
  const versions = new Set<Minor>();
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') throw new UsageError(`${flag}: empty entry in ${JSON.stringify(text)} (expected versions like 1.30, comma separated, or ranges like 1.28-1.31)`);
    const range = /^(v?1\.\d+)-(v?1\.\d+)$/.exec(item);
    if (range?.[1] && range[2]) {
      const from = one(flag, range[1]);
      const to = one(flag, range[2]);
      if (from > to) throw new UsageError(`${flag}: range ${item} runs backwards (write ${formatMinor(to)}-${formatMinor(from)})`);
      for (let v = from; v <= to; v++) versions.add(v);
    } else {
      versions.add(one(flag, item));
    }
  }
  return [...versions].sort((a, b) => a - b);
}

function one(flag: string, text: string): Minor {
  const parsed = parseVersion(text);
  if (!parsed.ok) throw new UsageError(`${flag}: ${parsed.message}`);
  return parsed.minor;
}

/** `1.23-1.26, 1.30` for a sorted list of versions. */
export function formatVersionRanges(versions: readonly Minor[]): string {
  const parts: string[] = [];
  let start: Minor | undefined;
  let prev: Minor | undefined;
  for (const v of [...versions, Number.NaN]) {
    if (start !== undefined && prev !== undefined && v === prev + 1) {
      prev = v;
      continue;
    }
    if (start !== undefined && prev !== undefined) parts.push(start === prev ? formatMinor(start) : `${formatMinor(start)}-${formatMinor(prev)}`);
    start = v;
    prev = v;
  }
  return parts.join(', ');
}
