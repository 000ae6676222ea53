// Reading scenario files: shared by `scenarios run` (cli/) and the conformance harness (conformance/).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PodFileCache, Scenario } from './scenario.js';
import { loadScenarioFileRecovering } from './scenario.js';
import type { InputError, WalkReport } from './source.js';
import { InputFailure, displayLabel, expandPaths, readTextFile } from './source.js';

/** Loads every file, collecting the input errors of all of them before giving up. */
export async function loadScenarios(paths: readonly string[], cwd = process.cwd()): Promise<Scenario[]> {
  const { scenarios, errors } = await loadScenariosRecovering(paths, cwd);
  if (errors.length > 0) throw new InputFailure(errors);
  return scenarios;
}

/** Every scenario that reads cleanly, and the errors of the files and entries that do not (each costs only itself). */
export async function loadScenariosRecovering(paths: readonly string[], cwd = process.cwd()): Promise<{ scenarios: Scenario[]; errors: InputError[]; notes: string[] }> {
  const scenarios: Scenario[] = [];
  const errors: InputError[] = [];
  const walk: WalkReport = { errors, notes: [] };
  const notes: string[] = [];
  const podFiles: PodFileCache = new Map();
  for (const file of scenarioFiles(paths, cwd, walk)) {
    try {
      const loaded = await loadScenarioFileRecovering(file, cwd, podFiles);
      scenarios.push(...loaded.scenarios);
      errors.push(...loaded.errors);
      notes.push(...loaded.notes);
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
    }
  }
  notes.push(...walk.notes.map((note) => `apparmor-sim: note: ${note}`));
  const seen = new Map<string, Scenario>();
  for (const s of scenarios) {
    const first = seen.get(s.name);
    // Within a file the loader reports duplicates; across files only this sees them.
    if (first && first.file !== s.file) errors.push({ file: s.file, line: s.line, message: `duplicate scenario name ${JSON.stringify(s.name)} (first in ${first.file}:${first.line})` });
    if (!first) seen.set(s.name, s);
  }
  return { scenarios: scenarios.filter((s) => seen.get(s.name) === s || seen.get(s.name)?.file === s.file), errors, notes };
}

const SCENARIO_FILE = /\.ya?ml$/i;
// A top-level apiVersion and kind mark a Kubernetes manifest (a podFile target), never a scenario.
const MANIFEST_KEYS = [/^apiVersion:/m, /^kind:/m];

function scenarioFiles(paths: readonly string[], cwd: string, walk: WalkReport): string[] {
  return paths.flatMap((path) => {
    if (path === '') {
      walk.errors.push({ file: 'apparmor-sim', message: 'an empty path names no file or directory' });
      return [];
    }
    const absolute = resolve(cwd, path);
    const inDirectory = isDirectory(absolute);
    const files = expandPaths([absolute], cwd, walk);
    if (!inDirectory) return files;
    return files.filter((file) => {
      if (!SCENARIO_FILE.test(file)) return false;
      try {
        return !isManifest(file, cwd);
      } catch (error) {
        // Unreadable: keep it, so that loading reports why.
        if (!(error instanceof InputFailure)) throw error;
        return true;
      }
    });
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

