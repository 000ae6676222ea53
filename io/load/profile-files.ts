// Profile files and directories as a node would load them. With apparmor_parser installed (Debian package
// `apparmor`) every file is compiled without touching the kernel (`-Q` skip kernel load, `-K` skip cache, `-N` print
// the names it defines), so a syntax error is reported as the parser reports it, with file and line. Without it, the
// built-in reader extracts the names and the result says that nothing was validated.
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { extractProfileNames } from '../../sim/nodefacts/profile-source.js';
import type { LoadedProfile } from '../../sim/types.js';
import { SCALE_LIMITS } from './scale-limits.js';
import { InputFailure, LIMITS, readTextFile, systemMessage } from './source.js';

export interface ProfileFileError {
  file: string;
  line?: number | undefined;
  message: string;
}

export type ProfileFilesResult =
  | { profiles: LoadedProfile[]; validatedBy: 'apparmor_parser' | 'built-in reader'; warnings: string[] }
  | { errors: ProfileFileError[] };

export interface ProfileFilesOptions {
  /** Path of apparmor_parser; null to use the built-in reader only; undefined to look it up on PATH. */
  parser?: string | null | undefined;
}

export const PARSER_MISSING_WARNING =
  'apparmor_parser not found: profile names were read by the built-in reader and the profiles were not validated (install the Debian package apparmor to validate them)';

const PARSER_TIMEOUT_MS = 30_000;
// apparmor_parser given a directory skips dotfiles and package-manager or editor leftovers; so does this.
const SKIPPED_SUFFIXES = ['.dpkg-new', '.dpkg-old', '.dpkg-dist', '.dpkg-bak', '.dpkg-remove', '.rpmnew', '.rpmsave', '.pacsave', '.pacnew', '.orig', '.rej', '.swp', '~'];

export function findApparmorParser(pathEnv = process.env['PATH'] ?? ''): string | undefined {
  const dirs = [...pathEnv.split(delimiter).filter(Boolean), '/sbin', '/usr/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'apparmor_parser');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

export async function loadProfileFiles(paths: readonly string[], options: ProfileFilesOptions = {}): Promise<ProfileFilesResult> {
  const errors: ProfileFileError[] = [];
  const passedOver: string[] = [];
  const files = paths.flatMap((path) => expandProfilePath(path, errors, passedOver));
  if (errors.length > 0) return { errors };
  const parser = options.parser === undefined ? findApparmorParser() : options.parser ?? undefined;
  const profiles = new Map<string, LoadedProfile>();
  for (const [index, file] of files.entries()) {
    // A directory of broken files would otherwise run apparmor_parser on every one of them.
    if (errors.length >= LIMITS.maxReportedErrors) {
      errors.push({ file: 'apparmor-sim', message: `stopped after ${errors.length} profile errors: ${files.length - index} file(s) not checked` });
      break;
    }
    let text: string;
    try {
      text = readTextFile(file);
    } catch (error) {
      if (error instanceof InputFailure) errors.push(...error.errors);
      else throw error;
      continue;
    }
    const source = extractProfileNames(text);
    let names: string[];
    if (parser) {
      const compiled = await runParser(parser, file);
      if ('errors' in compiled) {
        errors.push(...compiled.errors);
        continue;
      }
      names = compiled.names;
    } else {
      if (source.errors.length > 0) {
        errors.push(...source.errors.map((e) => ({ file, line: e.line, message: e.message })));
        continue;
      }
      names = source.profiles.map((p) => p.name);
    }
    // The parser prints names only; modes come from the flags the built-in reader saw.
    const modes = new Map(source.profiles.map((p) => [p.name, p.mode]));
    for (const name of names) profiles.set(name, { name, mode: modes.get(name) ?? 'enforce' });
  }
  if (errors.length > 0) return { errors };
  return {
    profiles: [...profiles.values()],
    validatedBy: parser ? 'apparmor_parser' : 'built-in reader',
    warnings: [...(parser ? [] : [PARSER_MISSING_WARNING]), ...passedOver],
  };
}

function expandProfilePath(path: string, errors: ProfileFileError[], passedOver: string[]): string[] {
  try {
    if (!statSync(path).isDirectory()) return [path];
    const all = readdirSync(path, { withFileTypes: true });
    // A FIFO would block apparmor_parser and the reader; a device never ends.
    for (const entry of all) {
      if ((entry.isFIFO() || entry.isSocket() || entry.isCharacterDevice() || entry.isBlockDevice()) && !skipped(entry.name)) passedOver.push(`${join(path, entry.name)}: skipped, not a regular file`);
    }
    const entries = all
      .filter((entry) => entry.isFile() && !skipped(entry.name))
      .map((entry) => join(path, entry.name))
      .sort();
    if (entries.length === 0) errors.push({ file: path, message: 'directory holds no profile files' });
    if (entries.length > SCALE_LIMITS.maxProfileFiles) {
      errors.push({ file: path, message: `directory holds ${entries.length} profile files, over the ${SCALE_LIMITS.maxProfileFiles}-file limit` });
      return [];
    }
    return entries;
  } catch (error) {
    errors.push({ file: path, message: `cannot read: ${systemMessage(error)}` });
    return [];
  }
}

function skipped(name: string): boolean {
  return name.startsWith('.') || name === 'README' || SKIPPED_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

// e.g. `AppArmor parser error for broken in profile broken at line 4: syntax error, unexpected TOK_CLOSE, ...`;
// "in profile F" names the file (an include, perhaps) where the error is.
const PARSER_ERROR = /^AppArmor parser error(?: for (\S+))?(?: in profile (\S+))?(?: at line (\d+))?: (.*)$/;
// Printed on every run on a kernel without AppArmor; says nothing about the profile.
const PARSER_NOISE = /^Cache read\/write disabled|^Warning: unable to find a suitable fs in \/proc\/mounts/;

async function runParser(parser: string, file: string): Promise<{ names: string[] } | { errors: ProfileFileError[] }> {
  const { code, stdout, stderr, failure } = await run(parser, ['-Q', '-K', '-N', file]);
  if (failure) return { errors: [{ file, message: `cannot run ${parser}: ${failure}` }] };
  const problems = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !PARSER_NOISE.test(l));
  if (code !== 0 || problems.some((l) => l.startsWith('AppArmor parser error'))) {
    const errors = problems.map((l): ProfileFileError => {
      const match = PARSER_ERROR.exec(l);
      if (!match) return { file, message: `apparmor_parser: ${l}` };
      const where = match[2] ?? match[1];
      return { file: where && basename(where) !== basename(file) ? where : file, line: match[3] ? Number(match[3]) : undefined, message: `apparmor_parser: ${match[4] ?? l}` };
    });
    return { errors: errors.length > 0 ? errors : [{ file, message: `apparmor_parser exited with code ${code} and no message` }] };
  }
  const names = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (names.length === 0) return { errors: [{ file, message: 'apparmor_parser found no profile definition' }] };
  return { names };
}

async function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string; failure?: string | undefined }> {
  // Loaded here, not at the top: node:child_process brings net, dgram and more with it, a few milliseconds of every
  // dry run's start-up (bench/run.mjs cold start) that only runs with profile files need.
  const { execFile } = await import('node:child_process');
  return new Promise((resolvePromise) => {
    execFile(command, args, { timeout: PARSER_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        resolvePromise({ code: -1, stdout, stderr, failure: error.killed ? `timed out after ${PARSER_TIMEOUT_MS / 1000} s` : systemMessage(error) });
        return;
      }
      resolvePromise({ code: error && typeof error.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}
