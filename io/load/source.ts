import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Composer, CST, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Document, type Node as YamlNode } from 'yaml';

/** A problem with user input: reported as `file:line:column: message`, exit code 2. */
export interface InputError {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
  message: string;
  /** Set on the line that stands for errors left out of the report (see LIMITS.maxReportedErrors). */
  omitted?: number | undefined;
}

export class InputFailure extends Error {
  readonly errors: InputError[];
  constructor(errors: InputError[]) {
    const capped = capErrors(errors);
    super(capped.map(formatInputError).join('\n'));
    this.errors = capped;
  }
}

/** Keeps the first LIMITS.maxReportedErrors errors and one line counting the rest (a garbage file has one per line). */
function capErrors(errors: readonly InputError[]): InputError[] {
  const shown = errors.filter((e) => e.omitted === undefined);
  let omitted = errors.reduce((n, e) => n + (e.omitted ?? 0), 0);
  if (shown.length <= LIMITS.maxReportedErrors && omitted === 0) return [...errors];
  const kept = shown.slice(0, LIMITS.maxReportedErrors);
  omitted += shown.length - kept.length;
  return omitted === 0 ? kept : [...kept, { file: 'apparmor-sim', message: `${omitted} more input error(s) not shown`, omitted }];
}

export function formatInputError(error: InputError): string {
  const where = error.line !== undefined ? `${error.file}:${error.line}${error.column !== undefined ? `:${error.column}` : ''}` : error.file;
  return `${where}: ${error.message}`;
}

/**
 * Limits that keep hostile input from exhausting memory and time; see README "Input limits". The yaml package keeps
 * about 250 bytes per token in its syntax trees, and folds double-quoted and multi-line scalars into strings of about
 * 35 bytes per source byte; together with the file text itself these bound the memory one input file can take (the
 * bound is measured by `npm run bench`).
 */
export const LIMITS = {
  /** Largest YAML file read (the 10,000-pod benchmark file is about 4 MiB). */
  maxFileBytes: 64 * 1024 * 1024,
  /** yaml's alias expansion cap: stops "billion laughs" documents. */
  maxAliasCount: 100,
  /** Deepest nesting accepted; Kubernetes objects are far shallower. */
  maxDepth: 64,
  maxDocuments: 100_000,
  /** YAML tokens (scalars, indicators, brackets, anchors, tags) per file; the 10,000-pod benchmark file has 0.63 million. */
  maxTokens: 1_000_000,
  /** Longest scalar; Kubernetes caps all annotations of an object together at 256 KiB. */
  maxScalarBytes: 1024 * 1024,
  /** Double-quoted and multi-line scalar text per file, which the parser folds character by character. */
  maxFoldedScalarBytes: 4 * 1024 * 1024,
  /** Items in one containers, initContainers or ephemeralContainers list; the model's checks compare containers pairwise. */
  maxContainersPerPod: 256,
  /** Input errors printed; the rest are counted on one line. */
  maxReportedErrors: 50,
};

export interface YamlDocument {
  file: string;
  /** 1-based line where the document starts. */
  line: number;
  value: unknown;
  /** 1-based line of the node at a path inside the document, or of the closest ancestor that exists. */
  lineOf(path: readonly (string | number)[]): number;
  /** The source text of a scalar, e.g. "1.20" for a float the YAML parser read as 1.2. */
  sourceOf(path: readonly (string | number)[]): string | undefined;
}

export function readTextFile(file: string, label = file): string {
  let size: number;
  try {
    const stat = statSync(file);
    if (stat.isDirectory()) throw new InputFailure([{ file: label, message: 'is a directory, expected a file' }]);
    size = stat.size;
  } catch (error) {
    if (error instanceof InputFailure) throw error;
    throw new InputFailure([{ file: label, message: `cannot read: ${systemMessage(error)}` }]);
  }
  if (size > LIMITS.maxFileBytes) {
    throw new InputFailure([{ file: label, message: `file is ${size} bytes, over the ${LIMITS.maxFileBytes}-byte limit` }]);
  }
  return decodeText(readAtMost(file, label), label);
}

/**
 * Reads a file, stopping at the size limit: devices (/dev/zero), pipes (<(helm template ...)) and files that grow
 * while they are read report a size of 0 or less than they hold, so the stat check above is not enough.
 */
function readAtMost(file: string, label: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new InputFailure([{ file: label, message: `cannot read: ${systemMessage(error)}` }]);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw new InputFailure([{ file: label, message: `cannot read: ${systemMessage(error)}` }]);
      }
      if (read === 0) break;
      total += read;
      if (total > LIMITS.maxFileBytes) throw new InputFailure([{ file: label, message: `input is over the ${LIMITS.maxFileBytes}-byte limit` }]);
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

const READ_CHUNK_BYTES = 1024 * 1024;

export function decodeText(buffer: Buffer, label: string): string {
  const nul = buffer.indexOf(0);
  if (nul !== -1) {
    const line = buffer.subarray(0, nul).toString('utf8').split('\n').length;
    throw new InputFailure([{ file: label, line, message: 'binary data (NUL byte): expected YAML text' }]);
  }
  const text = buffer.toString('utf8');
  const bad = text.indexOf('\uFFFD');
  if (bad !== -1 && !buffer.includes(Buffer.from('\uFFFD', 'utf8'))) {
    throw new InputFailure([{ file: label, line: text.slice(0, bad).split('\n').length, message: 'invalid UTF-8: expected YAML text' }]);
  }
  return text;
}

export function systemMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = String((error as { code: unknown }).code);
    if (code === 'ENOENT') return 'no such file or directory';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
    return code;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Parses every YAML document of a text, with line lookup; malformed YAML becomes InputErrors with lines. */
export function parseYamlDocuments(text: string, file: string): YamlDocument[] {
  if (text.length > LIMITS.maxFileBytes) {
    throw new InputFailure([{ file, message: `input is ${text.length} characters, over the ${LIMITS.maxFileBytes} limit` }]);
  }
  const lineCounter = new LineCounter();
  let list: Document.Parsed[];
  try {
    list = composeWithinLimits(text, file, lineCounter);
  } catch (error) {
    if (error instanceof InputFailure) throw error;
    // The composer recurses per nesting level; absurd block nesting overflows the stack before our depth check runs.
    throw new InputFailure([{ file, message: error instanceof RangeError ? `nesting too deep to parse (limit ${LIMITS.maxDepth} levels)` : `invalid YAML: ${firstLine(String(error))}` }]);
  }
  const errors: InputError[] = [];
  const result: YamlDocument[] = [];
  for (const doc of list) {
    for (const error of doc.errors) {
      const pos = lineCounter.linePos(error.pos[0]);
      const message = /Maximum call stack size exceeded/.test(error.message) ? `nesting too deep to parse (limit ${LIMITS.maxDepth} levels)` : `invalid YAML: ${firstLine(error.message)}`;
      errors.push({ file, line: pos.line, column: pos.col, message });
    }
    if (doc.errors.length > 0) continue;
    const contents = doc.contents;
    if (contents === null) continue;
    const structureError = checkStructure(contents);
    if (structureError !== undefined) {
      errors.push({ file, line: lineCounter.linePos(structureError.offset).line, message: structureError.message });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: LIMITS.maxAliasCount });
    } catch (error) {
      const range = contents.range;
      errors.push({ file, line: range ? lineCounter.linePos(range[0]).line : undefined, message: `invalid YAML: ${firstLine(error instanceof Error ? error.message : String(error))}` });
      continue;
    }
    const startOffset = contents.range?.[0] ?? 0;
    result.push({
      file,
      line: lineCounter.linePos(startOffset).line,
      value,
      lineOf(path) {
        for (let n = path.length; n >= 0; n--) {
          const node = doc.getIn(path.slice(0, n), true) as YamlNode | undefined;
          const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
          if (range) {
            // For a map key, point at the key rather than the value.
            if (n > 0) {
              const keyLine = keyLineOf(doc, path.slice(0, n), lineCounter);
              if (keyLine !== undefined) return keyLine;
            }
            return lineCounter.linePos(range[0]).line;
          }
        }
        return lineCounter.linePos(startOffset).line;
      },
      sourceOf(path) {
        const node = doc.getIn(path, true);
        return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
      },
    });
  }
  if (errors.length > 0) throw new InputFailure(errors);
  return result;
}

// Lexer control characters that take no room in the source: document mode, flow error end, scalar marker.
const ZERO_WIDTH = new Set(['\x02', '\x18', '\x1f']);
// Token types that are layout rather than content.
const LAYOUT = new Set(['space', 'newline', 'comment', 'byte-order-mark', 'doc-mode', 'flow-error-end', 'scalar', 'directive-line', 'doc-end']);

/**
 * The yaml package's parseAllDocuments, fed one lexeme at a time (the package's documented way to use its own lexer),
 * so that the budgets in LIMITS stop a hostile file while it is read, before the syntax trees it would need exist.
 * Map keys are checked for duplicates afterwards in linear time (yaml's uniqueKeys compares each key with all before).
 */
function composeWithinLimits(text: string, file: string, lineCounter: LineCounter): Document.Parsed[] {
  const parser = new Parser(lineCounter.addNewLine);
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false, strict: true });
  lineCounter.addNewLine(0);
  let offset = 0;
  let tokens = 0;
  let folded = 0;
  let flowDepth = 0;
  let scalarFollows = false;
  const fail = (message: string): never => {
    throw new InputFailure([{ file, line: lineCounter.linePos(offset).line, message }]);
  };
  function* lexemes(): Generator<CST.Token> {
    for (const lexeme of new Lexer().lex(text)) {
      if (ZERO_WIDTH.has(lexeme)) {
        scalarFollows = lexeme === '\x1f';
        yield* parser.next(lexeme);
        continue;
      }
      const type = CST.tokenType(lexeme);
      const isScalarText = scalarFollows || type === 'double-quoted-scalar' || type === 'single-quoted-scalar';
      if (isScalarText || !LAYOUT.has(type ?? '')) {
        if (++tokens > LIMITS.maxTokens) fail(`more than ${LIMITS.maxTokens} YAML tokens in one file (the limit)`);
      }
      if (isScalarText) {
        if (lexeme.length > LIMITS.maxScalarBytes) fail(`a scalar of ${lexeme.length} characters, over the ${LIMITS.maxScalarBytes} limit`);
        if (type === 'double-quoted-scalar' || lexeme.includes('\n')) {
          folded += lexeme.length;
          if (folded > LIMITS.maxFoldedScalarBytes) fail(`more than ${LIMITS.maxFoldedScalarBytes} characters of quoted or multi-line scalars in one file (the limit)`);
        }
      } else if (type === 'flow-seq-start' || type === 'flow-map-start') {
        if (++flowDepth > LIMITS.maxDepth) fail(`nesting deeper than ${LIMITS.maxDepth} levels`);
      } else if (type === 'flow-seq-end' || type === 'flow-map-end') {
        flowDepth = Math.max(0, flowDepth - 1);
      }
      scalarFollows = false;
      yield* parser.next(lexeme);
      offset += lexeme.length;
    }
    yield* parser.end();
  }
  const docs: Document.Parsed[] = [];
  for (const doc of composer.compose(lexemes())) {
    if (docs.length === LIMITS.maxDocuments) fail(`more than ${LIMITS.maxDocuments} YAML documents, over the limit`);
    docs.push(doc);
  }
  return docs;
}

function keyLineOf(doc: Document.Parsed, path: readonly (string | number)[], lineCounter: LineCounter): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) {
    const key = pair.key;
    if (isScalar(key) && String(key.value) === String(last) && key.range) return lineCounter.linePos(key.range[0]).line;
  }
  return undefined;
}

// Container lists of a pod spec (wherever they appear: Pods, templates, Lists); the model's work per pod grows with
// the square of the number of containers.
const CONTAINER_LISTS = new Set(['string:containers', 'string:initContainers', 'string:ephemeralContainers']);

/** Nesting depth, duplicate map keys and container counts, in one pass over the tree (no recursion: depth is what it checks). */
function checkStructure(root: unknown): { offset: number; message: string } | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (depth > LIMITS.maxDepth) {
      const range = (node as { range?: [number, number] } | null)?.range;
      return { offset: range ? range[0] : 0, message: `nesting deeper than ${LIMITS.maxDepth} levels` };
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          // Keys are equal when their values are (yaml's uniqueKeys default: 1 and "1" differ).
          const id = `${typeof key.value}:${String(key.value)}`;
          if (seen.has(id)) return { offset: key.range?.[0] ?? 0, message: 'invalid YAML: Map keys must be unique' };
          seen.add(id);
          if (CONTAINER_LISTS.has(id) && isSeq(pair.value) && pair.value.items.length > LIMITS.maxContainersPerPod) {
            return { offset: key.range?.[0] ?? 0, message: `${String(key.value)}: ${pair.value.items.length} containers, over the ${LIMITS.maxContainersPerPod}-container limit` };
          }
        } else if (key !== null) stack.push({ node: key, depth: depth + 1 });
        stack.push({ node: pair.value, depth: depth + 1 });
      }
    } else if (isSeq(node)) for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message;
}

/** How a file is named in messages: relative to the working directory when under it, else in full (never ../../x). */
export function displayLabel(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

const YAML_EXTENSIONS = /\.(ya?ml|json)$/i;

/** Expands files and directories (recursively, YAML and JSON files only, sorted) into a list of files. */
export function expandPaths(paths: readonly string[], cwd = process.cwd()): string[] {
  const files: string[] = [];
  const visit = (path: string, explicit: boolean) => {
    let stat;
    try {
      stat = statSync(path);
    } catch (error) {
      throw new InputFailure([{ file: displayLabel(path, cwd), message: `cannot read: ${systemMessage(error)}` }]);
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (entry.startsWith('.')) continue;
        visit(join(path, entry), false);
      }
    } else if (explicit || YAML_EXTENSIONS.test(path)) {
      files.push(path);
    }
  };
  for (const path of paths) visit(resolve(cwd, path), true);
  return files;
}
