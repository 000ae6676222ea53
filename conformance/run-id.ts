// Run ids: eight lower-case characters, valid in namespace and profile names. The first five are the run's start in
// minutes since the epoch (base 36, enough until 2084), the last three are random. The start time matters because
// every kind cluster of a host shares one kernel, so the AppArmor profiles of concurrent runs on other clusters are
// visible here while their namespaces are not: the sweeper may only unload profiles of runs older than --sweep-age.
import { randomBytes } from 'node:crypto';

const TIME_CHARS = 5;

export function newRunId(now = Date.now()): string {
  const minutes = Math.floor(now / 60_000).toString(36).padStart(TIME_CHARS, '0').slice(-TIME_CHARS);
  const random = [...randomBytes(3)].map((b) => (b % 36).toString(36)).join('');
  return `${minutes}${random}`;
}

/** When the run started (ms since the epoch, to the minute), or undefined for an id that is not a run id. */
export function runIdStartedAt(runId: string): number | undefined {
  if (!/^[a-z0-9]{8}$/.test(runId)) return undefined;
  return parseInt(runId.slice(0, TIME_CHARS), 36) * 60_000;
}

/**
 * Whether leftovers of a run may be swept: it started at least `sweepAgeSec` ago. A run id from the future (clock skew
 * between hosts) or one that is not a run id is never old enough.
 */
export function runOlderThan(runId: string, sweepAgeSec: number, now: number): boolean {
  const started = runIdStartedAt(runId);
  return started !== undefined && now - started >= sweepAgeSec * 1000;
}
