// A built-in reader of AppArmor policy source: finds the profiles a file defines and the mode each loads in, without
// validating rules. Used when apparmor_parser is not installed (the CLI says so), and for the modes, which
// `apparmor_parser -N` does not print. Names follow the kernel's listing: a hat or child profile is `parent//child`.
// Syntax reference: apparmor.d(5) (profile headers `profile NAME [ATTACHMENT] [flags=(...)] {`, `/path {`, `^hat {`,
// `hat NAME {`; `#` comments except `#include`).
import type { LoadedProfile, ProfileMode } from '../types.js';
import type { NodeFactsProblem } from './result.js';

export interface SourceProfile extends LoadedProfile {
  /** 1-based line of the header. */
  line: number;
}

export interface SourceProfiles {
  profiles: SourceProfile[];
  errors: NodeFactsProblem[];
}

interface Block {
  /** Profile name when the block is a profile or hat, undefined for other blocks (e.g. `if` conditionals). */
  name: string | undefined;
  line: number;
}

const LINE_STATEMENT = /^(@\{[^}]*\}\s*\+?=|#include\b|include\b)/;

/** Enough to say what is wrong with a file; a hostile file could otherwise produce one error per byte. */
const MAX_ERRORS = 20;
/** Longest `@{VAR}` reference looked for; a longer run is not a variable. */
const MAX_VARIABLE_REFERENCE = 256;

/** Linear in the input: every character is looked at a bounded number of times. */
export function extractProfileNames(text: string): SourceProfiles {
  const result: SourceProfiles = { profiles: [], errors: [] };
  const stack: Block[] = [];
  let header = '';
  // The start of the header, kept apart so that testing it does not flatten a long header string at every line.
  let headerStart = '';
  let headerHasText = false;
  let headerLine = 0;
  let line = 1;
  let quoted = false;
  let comment = false;
  let parens = 0;
  const resetHeader = () => {
    header = '';
    headerStart = '';
    headerHasText = false;
    headerLine = 0;
    parens = 0;
  };
  const append = (chunk: string) => {
    if (!headerHasText && chunk.trim() !== '') {
      headerHasText = true;
      headerLine = line;
    }
    if (headerHasText && headerStart.length < MAX_VARIABLE_REFERENCE) headerStart += chunk;
    header += chunk;
  };
  for (let i = 0; i < text.length && result.errors.length < MAX_ERRORS; i++) {
    const ch = text[i] ?? '';
    if (ch === '\n') {
      line++;
      comment = false;
      if (quoted) continue;
      // Variable assignments and includes end at the line's end, not with a comma.
      if (headerHasText && LINE_STATEMENT.test(headerStart.trimStart())) resetHeader();
      else append(' ');
      continue;
    }
    if (comment) continue;
    if (quoted) {
      header += ch;
      if (ch === '\\') header += text[++i] ?? '';
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '#' && !text.startsWith('#include', i)) {
      comment = true;
      continue;
    }
    if (ch === '"') quoted = true;
    // @{VAR} is a variable reference, not a block.
    if (ch === '@' && text[i + 1] === '{') {
      const end = variableReferenceEnd(text, i);
      if (end !== undefined) {
        append(text.slice(i, end + 1));
        i = end;
        continue;
      }
    }
    if (ch === '{') {
      // Each block carries the name of the profile it is in, so the parent is the top of the stack.
      const parent = stack[stack.length - 1]?.name;
      const name = profileName(header.trim(), stack.length > 0);
      const full = name === undefined ? undefined : parent ? `${parent}//${name}` : name;
      const startLine = headerLine || line;
      if (full !== undefined) result.profiles.push({ name: full, mode: modeOf(header), line: startLine });
      stack.push({ name: full ?? parent, line: startLine });
      resetHeader();
      continue;
    }
    if (ch === '}') {
      if (!stack.pop()) result.errors.push({ line, message: 'unexpected "}": no block is open' });
      resetHeader();
      continue;
    }
    if (ch === '(' || ch === ')') parens += ch === '(' ? 1 : -1;
    // A comma ends a rule, except inside flags=(a,b).
    if (ch === ',' && parens <= 0) {
      resetHeader();
      continue;
    }
    append(ch);
  }
  if (quoted) result.errors.push({ line, message: 'unterminated quoted string' });
  for (const open of stack.slice(0, Math.max(0, MAX_ERRORS - result.errors.length))) {
    result.errors.push({ line: open.line, message: 'block opened here is never closed with "}"' });
  }
  if (result.errors.length === 0 && result.profiles.length === 0) result.errors.push({ line: 1, message: 'no profile definition found' });
  return result;
}

/** Index of the `}` closing `@{` at `start`, on the same line and within MAX_VARIABLE_REFERENCE characters. */
function variableReferenceEnd(text: string, start: number): number | undefined {
  const limit = Math.min(text.length, start + MAX_VARIABLE_REFERENCE);
  for (let j = start + 2; j < limit; j++) {
    const c = text[j];
    if (c === '}') return j;
    if (c === '\n' || c === '{') return undefined;
  }
  return undefined;
}

/** The name a block header declares, or undefined when the block is not a profile. */
function profileName(header: string, nested: boolean): string | undefined {
  const withoutInclude = header.replace(/#include\s*[<"][^>"]*[>"]/g, '').replace(/^include\s+(if\s+exists\s+)?[<"][^>"]*[>"]/, '').trim();
  const keyword = /^(profile|hat)\s+("(?:[^"\\]|\\.)*"|\S+)/.exec(withoutInclude);
  if (keyword) return unquote(keyword[2] ?? '');
  const caret = /^\^("(?:[^"\\]|\\.)*"|[^\s{]+)/.exec(withoutInclude);
  if (caret && nested) return unquote(caret[1] ?? '');
  const attachment = /^("(?:[^"\\]|\\.)*"|[/@:][^\s{]*)/.exec(withoutInclude);
  if (attachment) return unquote(attachment[1] ?? '');
  return undefined;
}

function unquote(name: string): string {
  return name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replace(/\\(.)/g, '$1') : name;
}

/** The kernel lists a profile as complain, kill, unconfined or prompt when its flags say so, enforce otherwise. */
function modeOf(header: string): ProfileMode {
  const flags = /flags\s*=\s*\(([^)]*)\)|flags\s*=\s*([\w-]+)/.exec(header);
  const words = (flags?.[1] ?? flags?.[2] ?? '').split(/[\s,]+/);
  for (const mode of ['complain', 'kill', 'unconfined', 'prompt'] as const) {
    if (words.includes(mode)) return mode;
  }
  return 'enforce';
}
