// Reading scenario files: shared by `scenarios run` (cli/) and the conformance harness (conformance/).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Scenario } from './scenario.js';
import { loadScenarioFile } from './scenario.js';
import type { InputError } from './source.js';
import { InputFailure, displayLabel, expandPaths, readTextFile } from './source.js';

/** Loads every file, collecting the input errors of all of them before giving up. */
export async function loadScenarios(paths: readonly string[], cwd = process.cwd()): Promise<Scenario[]> {
  const scenarios: Scenario[] = [];
  const errors: InputError[] = [];
  for (const file of scenarioFiles(paths, cwd, errors)) {
    try {
      scenarios.push(...(await loadScenarioFile(file, cwd)));
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
    }
  }
  const seen = new Map<string, Scenario>();
  for (const s of scenarios) {
    const first = seen.get(s.name);
    // Within a file the loader reports duplicates; across files only this sees them.
    if (first && first.file !== s.file) errors.push({ file: s.file, line: s.line, message: `duplicate scenario name ${JSON.stringify(s.name)} (first in ${first.file}:${first.line})` });
    if (!first) seen.set(s.name, s);
  }
  if (errors.length > 0) throw new InputFailure(errors);
  return scenarios;
}

const SCENARIO_FILE = /\.ya?ml$/i;
// A top-level apiVersion and kind mark a Kubernetes manifest (a podFile target), never a scenario.
const MANIFEST_KEYS = [/^apiVersion:/m, /^kind:/m];

function scenarioFiles(paths: readonly string[], cwd: string, errors: InputError[]): string[] {
  return paths.flatMap((path) => {
    try {
      const absolute = resolve(cwd, path);
      const inDirectory = isDirectory(absolute);
      const files = expandPaths([absolute], cwd);
      if (!inDirectory) return files;
      return files.filter((file) => SCENARIO_FILE.test(file) && !isManifest(file, cwd));
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
      return [];
    }
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    // expandPaths reports the missing path with its own wording.
    return false;
  }
}

function isManifest(file: string, cwd: string): boolean {
  const text = readTextFile(file, displayLabel(file, cwd));
  return MANIFEST_KEYS.every((pattern) => pattern.test(text));
}

