// `.apparmor-sim.yaml`: per-repository defaults for the command's flags, which files to read, and suppressions of
// findings that are known and accepted. Found in the working directory or the nearest parent that has one, or named
// with --config. Every mistake in it is an input error with its file:line (exit code 2).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { OptionSpecs } from '../args.js';
import { Reader } from './facts.js';
import type { Path } from './facts.js';
import { InputFailure, displayLabel, parseYamlDocuments, readTextFile, systemMessage } from './source.js';

export const CONFIG_FILE_NAME = '.apparmor-sim.yaml';
export const CONFIG_KEYS = ['defaults', 'include', 'exclude', 'suppressions'] as const;
export const SUPPRESSION_KEYS = ['check', 'object', 'reason', 'expires'] as const;
/** Options whose values are files: relative paths in the config file are relative to the config file's directory. */
const PATH_OPTIONS = new Set(['node', 'cluster', 'profiles', 'after-node', 'after-cluster', 'after-profiles']);
/** Options that make no sense as a repository default. */
const NOT_DEFAULTS = new Set(['config', 'help']);

export type OptionValue = string | string[] | boolean;

export interface Suppression {
  /** A SARIF rule id (apparmor/blocked) or the name of a model check that failed (kubelet-profile-loaded); any when absent. */
  check?: string | undefined;
  /** `namespace/name` of a pod, or `namespace/Kind/name` of a workload; `*` matches any characters. Any when absent. */
  object?: string | undefined;
  reason: string;
  /** YYYY-MM-DD, the last day the suppression applies. */
  expires?: string | undefined;
  /** Where it is written, `file:line`, for the reports that show it. */
  at: string;
}

export interface Config {
  /** The config file as messages name it. */
  label: string;
  /** Absolute directory of the config file: relative paths and globs in it are relative to this. */
  dir: string;
  /** Flag defaults by long option name, paths already resolved. */
  defaults: Record<string, OptionValue>;
  /** Where each default is written, for errors found when the value is used. */
  defaultLines: Record<string, number>;
  include: string[];
  exclude: string[];
  /** Suppressions in force (not expired). */
  suppressions: Suppression[];
  /** One line per expired suppression, printed as a warning: it no longer suppresses anything. */
  expired: string[];
}

/** The config file in `cwd` or its nearest ancestor, if any. */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Loads the config named by --config, else the one found from `cwd` upward; undefined when there is none.
 * `options` are the command's flags: `defaults` may set any of them. `today` is YYYY-MM-DD.
 */
export function loadConfig(explicit: string | undefined, cwd: string, options: OptionSpecs, today: string): Config | undefined {
  const file = explicit !== undefined ? resolve(cwd, explicit) : findConfigFile(cwd);
  if (file === undefined) return undefined;
  const label = displayLabel(file, cwd);
  if (explicit !== undefined) {
    try {
      if (statSync(file).isDirectory()) throw new InputFailure([{ file: label, message: 'is a directory, expected a config file' }]);
    } catch (error) {
      if (error instanceof InputFailure) throw error;
      throw new InputFailure([{ file: label, message: `cannot read config file: ${systemMessage(error)}` }]);
    }
  }
  const docs = parseYamlDocuments(readTextFile(file, label), label);
  const dir = dirname(file);
  const config: Config = { label, dir, defaults: {}, defaultLines: {}, include: [], exclude: [], suppressions: [], expired: [] };
  if (docs.length > 1) throw new InputFailure([{ file: label, line: docs[1]?.line, message: 'a config file has one YAML document' }]);
  const doc = docs[0];
  if (!doc) return config;
  const reader = new Reader(doc);
  const root = reader.map(doc.value, []);
  if (root) {
    reader.onlyKeys(root, [], CONFIG_KEYS);
    readDefaults(reader, root['defaults'], options, dir, config);
    config.include = globs(reader, root['include'], ['include']);
    config.exclude = globs(reader, root['exclude'], ['exclude']);
    readSuppressions(reader, root['suppressions'], label, today, config);
  }
  if (reader.errors.length > 0) throw new InputFailure(reader.errors);
  return config;
}

function readDefaults(reader: Reader, value: unknown, options: OptionSpecs, dir: string, config: Config): void {
  const map = reader.map(value, ['defaults']);
  if (!map) return;
  const allowed = Object.keys(options).filter((name) => !NOT_DEFAULTS.has(name));
  for (const [name, raw] of Object.entries(map)) {
    const path: Path = ['defaults', name];
    const spec = options[name];
    if (!spec || NOT_DEFAULTS.has(name)) {
      reader.error(path, `unknown option (expected one of: ${allowed.join(', ')})`);
      continue;
    }
    config.defaultLines[name] = reader.doc.lineOf(path);
    const resolvePath = (text: string) => (PATH_OPTIONS.has(name) && text !== '-' ? resolve(dir, text) : text);
    if (spec.type === 'boolean') {
      const flag = reader.boolean(raw, path);
      if (flag !== undefined) config.defaults[name] = flag;
      else if (raw === null || raw === undefined) reader.error(path, 'must be true or false');
      continue;
    }
    const items = spec.multiple && Array.isArray(raw) ? raw.map((item, i) => scalarText(reader, item, [...path, i])) : [scalarText(reader, raw, path)];
    if (items.some((item) => item === undefined)) continue;
    const texts = (items as string[]).map(resolvePath);
    config.defaults[name] = spec.multiple ? texts : (texts[0] ?? '');
  }
}

/** A string, or a number written as one (`k8s-version: 1.30` is read back from the source as "1.30", not 1.3). */
function scalarText(reader: Reader, value: unknown, path: Path): string | undefined {
  if (typeof value === 'number') return reader.doc.sourceOf(path) ?? String(value);
  return reader.string(value, path, true);
}

function globs(reader: Reader, value: unknown, path: Path): string[] {
  const out: string[] = [];
  reader.list(value, path).forEach((item, i) => {
    const text = reader.string(item, [...path, i], true);
    if (text === undefined) return;
    if (text === '' || text.startsWith('/')) reader.error([...path, i], `${JSON.stringify(text)}: expected a glob relative to the config file's directory`);
    else out.push(text);
  });
  return out;
}

function readSuppressions(reader: Reader, value: unknown, label: string, today: string, config: Config): void {
  reader.list(value, ['suppressions']).forEach((item, i) => {
    const path: Path = ['suppressions', i];
    const map = reader.map(item, path, true);
    if (!map) return;
    reader.onlyKeys(map, path, SUPPRESSION_KEYS);
    const check = reader.string(map['check'], [...path, 'check']);
    const object = reader.string(map['object'], [...path, 'object']);
    const reason = reader.string(map['reason'], [...path, 'reason'], true);
    const expires = readDate(reader, map['expires'], [...path, 'expires']);
    if (check === undefined && object === undefined) reader.error(path, 'needs check, object or both (a suppression of everything is not one)');
    if (reason !== undefined && reason.trim() === '') reader.error([...path, 'reason'], 'must say why the finding is accepted');
    if (reason === undefined || (check === undefined && object === undefined)) return;
    const at = `${label}:${reader.doc.lineOf(path)}`;
    if (expires !== undefined && expires < today) {
      config.expired.push(`${at}: suppression expired on ${expires} and no longer applies (${[check, object].filter(Boolean).join(' ')}: ${reason})`);
      return;
    }
    config.suppressions.push({ check, object, reason, expires, at });
  });
}

function readDate(reader: Reader, value: unknown, path: Path): string | undefined {
  if (value === undefined || value === null) return undefined;
  // yaml's default (core) schema reads 2026-12-31 as a string; a Date would come from a YAML 1.1 document.
  const text = value instanceof Date ? value.toISOString().slice(0, 10) : typeof value === 'string' ? value : undefined;
  const match = text !== undefined ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!text || !date || date.toISOString().slice(0, 10) !== text) {
    reader.error(path, `must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return text;
}

/** Today in UTC, YYYY-MM-DD: expiry dates are compared with it. */
export function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * A glob as a RegExp over `/`-separated relative paths: `**` any number of directories, `*` any characters but `/`,
 * `?` one such character; as in .gitignore, a pattern with no `/` but a trailing one matches at any depth.
 */
export function globRegExp(glob: string): RegExp {
  const pattern = glob.replace(/\/$/, '').includes('/') ? glob.replace(/^\.\//, '') : `**/${glob}`;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:[^/]*/)*' : '.*';
      i += slash ? 2 : 1;
    } else if (ch === '*') {
      out += '[^/]*';
    } else if (ch === '?') {
      out += '[^/]';
    } else {
      out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  // A directory pattern (`vendor/` or `vendor`) also covers everything under it.
  return new RegExp(`^${out.replace(/\/$/, '')}(?:/.*)?$`);
}
