// What `.apparmor-sim.yaml` (io/load/config.ts) does to a dry run: flag defaults, the files to read, and which refusals
// are suppressed (still reported, marked as suppressed, not counted in the exit code).
import { readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Decision } from '../../sim/types.js';
import type { OptionSpecs, Parsed } from '../../io/args.js';
import { UsageError } from '../../io/args.js';
import type { Config, Suppression } from '../../io/load/config.js';
import { globRegExp } from '../../io/load/config.js';
import { InputFailure, expandPaths } from '../../io/load/source.js';
import { ruleFor } from '../output/sarif.js';
import type { WorkloadRef } from './workloads.js';

/** The command line with the config's defaults filled in where a flag was not given. */
export function withDefaults<S extends OptionSpecs>(parsed: Parsed<S>, config: Config | undefined): Parsed<S> {
  if (!config) return parsed;
  const values: Record<string, unknown> = { ...parsed.values };
  for (const [name, value] of Object.entries(config.defaults)) {
    if (values[name] === undefined) values[name] = value;
  }
  return { values: values as Parsed<S>['values'], positionals: parsed.positionals };
}

/**
 * Runs `read` (which validates the flag values); a bad value that came from the config file is reported at its line
 * there, not as a flag the user never typed.
 */
export function withConfigLines<T>(config: Config | undefined, given: Readonly<Record<string, unknown>>, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!config || !(error instanceof UsageError)) throw error;
    const flag = /^--([a-z0-9-]+): /.exec(error.message)?.[1];
    if (flag === undefined || given[flag] !== undefined || config.defaults[flag] === undefined) throw error;
    throw new InputFailure([{ file: config.label, line: config.defaultLines[flag], message: `defaults.${flag}: ${error.message.slice(flag.length + 4)}` }]);
  }
}

const YAML_FILE = /\.(ya?ml|json)$/i;
const NEVER_WALKED = new Set(['node_modules']);

/**
 * The inputs of a dry run: the paths given, else the config's `include` globs; files found in directories or by
 * `include` are dropped when they match an `exclude` glob. A file named on the command line is always read.
 */
export function selectInputs(positionals: readonly string[], config: Config | undefined, cwd: string): string[] {
  if (!config || (config.include.length === 0 && config.exclude.length === 0)) return [...positionals];
  const excluded = config.exclude.map(globRegExp);
  const keep = (file: string) => !excluded.some((re) => re.test(relativeSlash(config.dir, file)));
  if (positionals.length > 0) {
    return positionals.flatMap((input) => {
      if (input === '-') return [input];
      const files = expandPaths([input], cwd);
      const explicitFile = files.length === 1 && files[0] === resolve(cwd, input);
      return explicitFile ? files : files.filter(keep);
    });
  }
  if (config.include.length === 0) return [];
  const included = config.include.map(globRegExp);
  const files: string[] = [];
  walk(config.dir, (file) => {
    const rel = relativeSlash(config.dir, file);
    if (YAML_FILE.test(file) && included.some((re) => re.test(rel)) && keep(file)) files.push(file);
  });
  if (files.length === 0) throw new InputFailure([{ file: config.label, message: `include: no file matches ${config.include.map((g) => JSON.stringify(g)).join(', ')}` }]);
  return files;
}

/** Every file under `dir`, sorted, skipping hidden entries and node_modules. */
function walk(dir: string, visit: (file: string) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.') || NEVER_WALKED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, visit);
    else if (entry.isFile()) visit(path);
  }
}

function relativeSlash(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}

export interface SuppressionTarget {
  namespace: string;
  name: string;
  workload?: WorkloadRef | undefined;
}

/** Matches findings against the suppressions of the config file. */
export class Suppressor {
  private readonly compiled: { suppression: Suppression; object: RegExp | undefined }[];

  constructor(suppressions: readonly Suppression[]) {
    this.compiled = suppressions.map((suppression) => ({ suppression, object: suppression.object !== undefined ? objectRegExp(suppression.object) : undefined }));
  }

  get empty(): boolean {
    return this.compiled.length === 0;
  }

  /**
   * The suppression covering one finding: its rule (SARIF rule id) or one of the model checks that failed in the
   * decision, and the pod (`namespace/name`) or its workload (`namespace/Kind/name`).
   */
  match(target: SuppressionTarget, ruleId: string, decision: Decision): Suppression | undefined {
    if (this.compiled.length === 0) return undefined;
    const objects = [`${target.namespace}/${target.name}`];
    if (target.workload) objects.push(`${target.namespace}/${target.workload.kind}/${target.workload.name}`);
    for (const { suppression, object } of this.compiled) {
      if (object && !objects.some((o) => object.test(o))) continue;
      if (suppression.check !== undefined && suppression.check !== ruleId && !decision.trace.some((t) => t.verdict === 'fail' && t.check === suppression.check)) continue;
      return suppression;
    }
    return undefined;
  }

  /** For a refused decision, the suppression of its refusal; undefined when it runs or nothing matches. */
  forDecision(target: SuppressionTarget, decision: Decision): Suppression | undefined {
    const ruleId = ruleFor(decision);
    return ruleId ? this.match(target, ruleId, decision) : undefined;
  }

  /** For a pod decided several times (versions, nodes): suppressed when every refusal among them is. */
  forDecisions(target: SuppressionTarget, decisions: Iterable<Decision>): Suppression | undefined {
    let first: Suppression | undefined;
    for (const decision of decisions) {
      if (decision.outcome === 'Run') continue;
      const found = this.forDecision(target, decision);
      if (!found) return undefined;
      first ??= found;
    }
    return first;
  }
}

/** `*` matches any characters, `/` included; everything else literally. */
function objectRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The JSON form of a suppression, as results carry it. */
export function suppressionJson(s: Suppression): { reason: string; at: string; check?: string; object?: string; expires?: string } {
  const json: { reason: string; at: string; check?: string; object?: string; expires?: string } = { reason: s.reason, at: s.at };
  if (s.check !== undefined) json.check = s.check;
  if (s.object !== undefined) json.object = s.object;
  if (s.expires !== undefined) json.expires = s.expires;
  return json;
}
