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

export function extractProfileNames(text: string): SourceProfiles {
  const result: SourceProfiles = { profiles: [], errors: [] };
  const stack: Block[] = [];
  let header = '';
  let headerLine = 0;
  let line = 1;
  let quoted = false;
  let comment = false;
  let parens = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '\n') {
      line++;
      comment = false;
      if (quoted) continue;
      // Variable assignments and includes end at the line's end, not with a comma.
      if (LINE_STATEMENT.test(header.trim())) {
        header = '';
        headerLine = 0;
      } else header += ' ';
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
      const end = text.indexOf('}', i);
      if (end !== -1 && !text.slice(i, end).includes('\n')) {
        if (header.trim() === '') headerLine = line;
        header += text.slice(i, end + 1);
        i = end;
        continue;
      }
    }
    if (ch === '{') {
      const parent = [...stack].reverse().find((b) => b.name !== undefined)?.name;
      const name = profileName(header.trim(), stack.length > 0);
      const full = name === undefined ? undefined : parent ? `${parent}//${name}` : name;
      const startLine = headerLine || line;
      if (full !== undefined) result.profiles.push({ name: full, mode: modeOf(header), line: startLine });
      stack.push({ name: full ?? parent, line: startLine });
      parens = 0;
      header = '';
      headerLine = 0;
      continue;
    }
    if (ch === '}') {
      if (!stack.pop()) result.errors.push({ line, message: 'unexpected "}": no block is open' });
      header = '';
      headerLine = 0;
      continue;
    }
    if (ch === '(' || ch === ')') parens += ch === '(' ? 1 : -1;
    // A comma ends a rule, except inside flags=(a,b).
    if (ch === ',' && parens <= 0) {
      parens = 0;
      header = '';
      headerLine = 0;
      continue;
    }
    if (header.trim() === '' && ch.trim() !== '') headerLine = line;
    header += ch;
  }
  if (quoted) result.errors.push({ line, message: 'unterminated quoted string' });
  for (const open of stack) result.errors.push({ line: open.line, message: 'block opened here is never closed with "}"' });
  if (result.errors.length === 0 && result.profiles.length === 0) result.errors.push({ line: 1, message: 'no profile definition found' });
  return result;
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
