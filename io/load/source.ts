import { closeSync, constants as fsConstants, fstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Composer, CST, isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, type Document, type Node as YamlNode, type YAMLMap } from 'yaml';

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

/**
 * Items of an input (documents, pods) and its errors in line order: an error goes before the first item on a later
 * line. Both lists are in line order already.
 */
export function inLineOrder<T extends { line: number }>(items: readonly T[], errors: readonly InputError[], onItem: (item: T) => void, onError: (error: InputError) => void): void {
  let e = 0;
  for (const item of items) {
    for (let error = errors[e]; error !== undefined && (error.line ?? 0) < item.line; error = errors[++e]) onError(error);
    onItem(item);
  }
  for (let error = errors[e]; error !== undefined; error = errors[++e]) onError(error);
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
  /** Largest file read whole, and largest document of a stream read a document at a time (io/load/document-stream.ts). */
  maxFileBytes: 64 * 1024 * 1024,
  /** yaml's alias expansion cap: stops "billion laughs" documents. */
  maxAliasCount: 100,
  /** Deepest nesting accepted; Kubernetes objects are far shallower. */
  maxDepth: 64,
  maxDocuments: 100_000,
  /** YAML tokens (scalars, indicators, brackets, anchors, tags) per document (per file when read whole). */
  maxTokens: 1_000_000,
  /**
   * Lines per file, blank and comment lines included: the parser keeps a token per comment and per line break, so 31
   * million `#` lines (62 MB) once took 5.7 GB; comments also count as tokens. The 10,000-pod benchmark file has about 0.2 million lines.
   */
  maxLines: 2_000_000,
  /** Longest scalar; Kubernetes caps all annotations of an object together at 256 KiB. */
  maxScalarBytes: 1024 * 1024,
  /** Double-quoted and multi-line scalar text per file, which the parser folds character by character. */
  maxFoldedScalarBytes: 4 * 1024 * 1024,
  /** Items in one containers, initContainers or ephemeralContainers list; the model's checks compare containers pairwise. */
  maxContainersPerPod: 256,
  /** Input errors printed; the rest are counted on one line. */
  maxReportedErrors: 50,
  /** Notes and warnings of one kind printed (e.g. skipped lines of a profile list); the rest are counted on one line. */
  maxReportedNotes: 20,
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
  /** What kubectl accepts but a person should hear about (a repeated key: the last one wins). */
  warnings?: readonly InputError[] | undefined;
}

export function readTextFile(file: string, label = file): string {
  return decodeText(readRegularFile(file, label), label);
}

/**
 * The bytes of a regular file, at most LIMITS.maxFileBytes (or `maxBytes`). Opened without blocking and checked on the
 * open descriptor: a FIFO with no writer would block open() forever, and devices (/dev/zero, /dev/urandom) never end,
 * so anything that is not a regular file (also behind a symlink) is refused. Regular files on /proc, /sys and
 * securityfs report a size of 0 or 4096 whatever they hold, so the read itself stops at the limit too.
 */
export function readRegularFile(file: string, label = file, maxBytes = LIMITS.maxFileBytes): Buffer {
  const fd = openRegularFile(file, label);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new InputFailure([{ file: label, message: `file is ${size} bytes, over the ${maxBytes}-byte limit` }]);
    return readFd(fd, label, maxBytes);
  } finally {
    closeSync(fd);
  }
}

/** An open descriptor of a regular file (the caller closes it), checked as readRegularFile says. */
export function openRegularFile(file: string, label = file): number {
  if (file === '') throw new InputFailure([{ file: 'apparmor-sim', message: 'an empty path names no file' }]);
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (error) {
    throw new InputFailure([{ file: label, message: `cannot read: ${systemMessage(error)}` }]);
  }
  try {
    const kind = nonRegularKind(fstatSync(fd));
    if (kind !== undefined) throw new InputFailure([{ file: label, message: kind === 'a directory' ? 'is a directory, expected a file' : `not a regular file (${kind}); name a file, or pipe the data to standard input (-)` }]);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** What a file is when it is not a regular file, in words; undefined for a regular file. */
export function nonRegularKind(stat: Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a file';
}

/** Reads an open descriptor to its end, stopping with an input error past `maxBytes`. */
export function readFd(fd: number, label: string, maxBytes = LIMITS.maxFileBytes): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    const read = readChunk(fd, chunk, label);
    if (read === 0) break;
    total += read;
    if (total > maxBytes) throw new InputFailure([{ file: label, message: `input is over the ${maxBytes}-byte limit` }]);
    chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
  }
  return Buffer.concat(chunks, total);
}

/**
 * One read into `chunk`: 0 at the end; a non-blocking descriptor with nothing to read yet is waited for, after
 * `idle` is called (a streaming reader writes out what it has while the writer upstream is slow).
 */
export function readChunk(fd: number, chunk: Buffer, label: string, idle?: () => void): number {
  for (;;) {
    try {
      return readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      // Standard input from a terminal or an idle pipe: wait for data.
      if (isErrno(error, 'EAGAIN')) {
        idle?.();
        waitReadable();
        continue;
      }
      throw new InputFailure([{ file: label, message: `cannot read: ${systemMessage(error)}` }]);
    }
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === code;
}

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));
/** Synchronous readers have no poll(); a short sleep between tries keeps an idle pipe from spinning a core. */
function waitReadable(): void {
  Atomics.wait(SLEEP_CELL, 0, 0, 10);
}

const READ_CHUNK_BYTES = 1024 * 1024;

export function decodeText(buffer: Buffer, label: string): string {
  const nul = buffer.indexOf(0);
  if (nul !== -1) {
    throw new InputFailure([{ file: label, line: lineAtByte(buffer, nul), message: 'binary data (NUL byte): expected YAML text' }]);
  }
  try {
    return STRICT_UTF8.decode(buffer);
  } catch {
    // Rare: find where. A text may hold U+FFFD legitimately, so the replacement character cannot be the test.
    const bad = firstInvalidUtf8(buffer);
    throw new InputFailure([{ file: label, line: lineAtByte(buffer, bad), message: 'invalid UTF-8: expected YAML text' }]);
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function lineAtByte(buffer: Buffer, offset: number): number {
  return 1 + newlineBytesIn(buffer, offset);
}

/** Line breaks among the bytes before `end`. */
export function newlineBytesIn(bytes: Buffer, end = bytes.length): number {
  let count = 0;
  for (let at = bytes.indexOf(10); at !== -1 && at < end; at = bytes.indexOf(10, at + 1)) count++;
  return count;
}

/** Line breaks in the text before `end`. */
export function newlinesIn(text: string, end = text.length): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < end; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates, or code points past U+10FFFF). */
export function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

export function systemMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = String((error as { code: unknown }).code);
    if (code === 'ENOENT') return 'no such file or directory';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
    if (code === 'ENOTDIR') return 'not a directory';
    if (code === 'ELOOP') return 'too many levels of symbolic links';
    if (code === 'ENOSPC') return 'no space left on device';
    if (code === 'EIO') return 'input/output error';
    return code;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Parses every YAML document of a text, with line lookup; malformed YAML becomes InputErrors with lines. */
export function parseYamlDocuments(text: string, file: string): YamlDocument[] {
  const { documents, errors } = parseYamlDocumentsRecovering(text, file);
  if (errors.length > 0) throw new InputFailure(errors);
  return documents;
}

/**
 * Every document that parses, and the errors of those that do not: one bad document costs only itself. A problem with
 * the file as a whole (a limit crossed, an unrendered Helm template) is the only error, with no documents.
 *
 * Documents are read as kubectl reads them: sigs.k8s.io/yaml YAMLToJSON over go-yaml v2 (yaml.go, v1.4.0, uses
 * yaml.Unmarshal, not UnmarshalStrict), whose decoder (goyaml.v2/decode.go, mapping()) stores a repeated key again,
 * so the last one wins, and applies `<<` merge keys (isMerge, merge()).
 */
export function parseYamlDocumentsRecovering(text: string, file: string, startLine = 1, unit: 'file' | 'document' = 'file'): { documents: YamlDocument[]; errors: InputError[] } {
  // A document cut out of a longer stream (io/load/document-stream.ts) starts at `startLine` of its file.
  const shift = startLine - 1;
  if (text.length > LIMITS.maxFileBytes) {
    return { documents: [], errors: [{ file, message: `input is ${text.length} characters, over the ${LIMITS.maxFileBytes} limit` }] };
  }
  // Counted before lexing, so that 60 million blank lines stop at once: the line after the last allowed line break
  // holding anything (another break or text) is one line too many.
  let newline = -1;
  for (let lines = 1; lines <= LIMITS.maxLines; lines++) {
    newline = text.indexOf('\n', newline + 1);
    if (newline === -1) break;
  }
  if (newline !== -1 && newline + 1 < text.length) {
    return { documents: [], errors: [{ file, line: LIMITS.maxLines + 1 + shift, message: `more than ${LIMITS.maxLines} lines in one ${unit} (the limit; blank and comment lines count)` }] };
  }
  const helm = helmTemplateLine(text);
  if (helm !== undefined) {
    return { documents: [], errors: [{ file, line: helm + shift, message: 'this looks like an unrendered Helm template ({{ ... }}): render the chart first, e.g. helm template NAME CHART | apparmor-sim dry-run -' }] };
  }
  const jsonComment = jsonCommentLine(text);
  if (jsonComment !== undefined) {
    return { documents: [], errors: [{ file, line: jsonComment + shift, message: 'invalid JSON: comments (// or /* */) are not allowed in JSON' }] };
  }
  const counter = new LineCounter();
  const lineCounter: LinePositions = shift === 0 ? counter : { linePos: (offset) => shifted(counter.linePos(offset), shift) };
  let list: Document.Parsed[];
  try {
    list = composeWithinLimits(text, file, counter, shift, unit);
  } catch (error) {
    if (error instanceof InputFailure) return { documents: [], errors: error.errors };
    // The composer recurses per nesting level; absurd block nesting overflows the stack before our depth check runs.
    return { documents: [], errors: [{ file, message: error instanceof RangeError ? `nesting too deep to parse (limit ${LIMITS.maxDepth} levels)` : `invalid YAML: ${firstLine(String(error))}` }] };
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
    const structure = checkStructure(contents);
    if (structure.error !== undefined) {
      errors.push({ file, line: lineCounter.linePos(structure.error.offset).line, message: structure.error.message });
      continue;
    }
    const warnings = structure.duplicates.map(({ offset, key, firstOffset }): InputError => ({
      file,
      line: lineCounter.linePos(offset).line,
      message: `warning: key ${JSON.stringify(key)} repeats the one at line ${lineCounter.linePos(firstOffset).line}; the last one wins, as in kubectl`,
    }));
    let value: unknown;
    try {
      applyMergesInPlace(structure.merging, doc);
      value = doc.toJS({ maxAliasCount: LIMITS.maxAliasCount });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const offset = unresolvedAliasOffset(contents, message) ?? contents.range?.[0];
      errors.push({ file, line: offset !== undefined ? lineCounter.linePos(offset).line : undefined, message: `invalid YAML: ${firstLine(message)}` });
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
      warnings,
    });
  }
  return { documents: result, errors };
}

// A Go template action alone on a line ({{- if ...}}, {{ end }}, {{- include ... | nindent 4 }}): no YAML document
// starts a line with two braces, and a chart's templates/ directory is full of them.
const TEMPLATE_ACTION_LINE = /^[ \t]*\{\{-?\s*(?:if|else|end|range|with|define|template|include|block|\/\*|\.|\$|toYaml|tpl)\b[^\n]*\}\}/m;

/** The line of the first template action when the text looks like an unrendered Helm template. */
function helmTemplateLine(text: string): number | undefined {
  if (text.search(TEMPLATE_ACTION_LINE) === -1) return undefined;
  return lineAt(text, text.indexOf('{{'));
}

/** JSON (a document starting with { or [) with a line comment or block comment on a line of its own. */
function jsonCommentLine(text: string): number | undefined {
  if (!/^\uFEFF?\s*[[{]/.test(text.slice(0, 1024))) return undefined;
  const at = text.search(/^[ \t]*(?:\/\/|\/\*)/m);
  return at === -1 ? undefined : lineAt(text, at);
}

function lineAt(text: string, offset: number): number {
  return 1 + newlinesIn(text, offset);
}

/** Where an alias that names no earlier anchor is (yaml reports it without a position). */
function unresolvedAliasOffset(root: unknown, message: string): number | undefined {
  const name = /Unresolved alias[^:]*: (.+)$/m.exec(message)?.[1]?.trim();
  if (name === undefined) return undefined;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) {
      if (node.source === name && node.range) return node.range[0];
    } else if (isMap(node)) {
      for (const pair of node.items) stack.push(pair.value, pair.key);
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]);
    }
  }
  return undefined;
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
/** Line and column of an offset, in the whole file's numbering. */
interface LinePositions {
  linePos(offset: number): { line: number; col: number };
}

function shifted(pos: { line: number; col: number }, lines: number): { line: number; col: number } {
  return { line: pos.line + lines, col: pos.col };
}

function composeWithinLimits(text: string, file: string, lineCounter: LineCounter, shift: number, unit: 'file' | 'document'): Document.Parsed[] {
  const parser = new Parser(lineCounter.addNewLine);
  // merge: `<<` keys as YAML 1.1 merges, which go-yaml v2 (and so kubectl) applies.
  const composer = new Composer({ uniqueKeys: false, prettyErrors: false, strict: true, merge: true });
  lineCounter.addNewLine(0);
  let offset = 0;
  let tokens = 0;
  let folded = 0;
  let flowDepth = 0;
  let scalarFollows = false;
  const fail = (message: string): never => {
    throw new InputFailure([{ file, line: lineCounter.linePos(offset).line + shift, message }]);
  };
  function* lexemes(): Generator<CST.Token> {
    for (const lexeme of new Lexer().lex(text)) {
      if (lexeme.length === 1 && ZERO_WIDTH.has(lexeme)) {
        scalarFollows = lexeme === '\x1f';
        yield* parser.next(lexeme);
        continue;
      }
      const type = CST.tokenType(lexeme);
      // Comment lines cost the parser a token each too (blank lines are bounded by LIMITS.maxLines, checked before).
      if (type === 'comment' && ++tokens > LIMITS.maxTokens) fail(`more than ${LIMITS.maxTokens} YAML tokens in one ${unit} (the limit; comments count)`);
      const isScalarText = scalarFollows || type === 'double-quoted-scalar' || type === 'single-quoted-scalar';
      if (isScalarText || !LAYOUT.has(type ?? '')) {
        if (++tokens > LIMITS.maxTokens) fail(`more than ${LIMITS.maxTokens} YAML tokens in one ${unit} (the limit)`);
      }
      if (isScalarText) {
        if (lexeme.length > LIMITS.maxScalarBytes) fail(`a scalar of ${lexeme.length} characters, over the ${LIMITS.maxScalarBytes} limit`);
        if (type === 'double-quoted-scalar' || lexeme.includes('\n')) {
          folded += lexeme.length;
          if (folded > LIMITS.maxFoldedScalarBytes) fail(`more than ${LIMITS.maxFoldedScalarBytes} characters of quoted or multi-line scalars in one ${unit} (the limit)`);
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

function keyLineOf(doc: Document.Parsed, path: readonly (string | number)[], lineCounter: LinePositions): number | undefined {
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

interface StructureCheck {
  /** Maps with a `<<` merge key, for applyMergesInPlace. */
  merging: YAMLMap[];
  error?: { offset: number; message: string } | undefined;
  /** Repeated keys (kubectl keeps the last): where, which key, and where it was first. */
  duplicates: { offset: number; key: string; firstOffset: number }[];
}

/**
 * Nesting depth, collection keys, repeated map keys and container counts, in one pass over the tree (no recursion:
 * depth is what it checks). go-yaml v2 refuses a map or list as a key ("invalid map key", decode.go mapping()).
 */
function checkStructure(root: unknown): StructureCheck {
  const duplicates: StructureCheck['duplicates'] = [];
  const merging: YAMLMap[] = [];
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (depth > LIMITS.maxDepth) {
      const range = (node as { range?: [number, number] } | null)?.range;
      return { error: { offset: range ? range[0] : 0, message: `nesting deeper than ${LIMITS.maxDepth} levels` }, duplicates, merging };
    }
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key) && typeof key.value === 'symbol') {
          if (merging[merging.length - 1] !== node) merging.push(node);
        } else if (isScalar(key)) {
          // Keys are equal when their values are (yaml's uniqueKeys default: 1 and "1" differ).
          const id = `${typeof key.value}:${String(key.value)}`;
          const first = seen.get(id);
          if (first !== undefined && duplicates.length < LIMITS.maxReportedNotes) duplicates.push({ offset: key.range?.[0] ?? 0, key: String(key.value), firstOffset: first });
          if (first === undefined) seen.set(id, key.range?.[0] ?? 0);
          if (CONTAINER_LISTS.has(id) && isSeq(pair.value) && pair.value.items.length > LIMITS.maxContainersPerPod) {
            return { error: { offset: key.range?.[0] ?? 0, message: `${String(key.value)}: ${pair.value.items.length} containers, over the ${LIMITS.maxContainersPerPod}-container limit` }, duplicates, merging };
          }
        } else if (isMap(key) || isSeq(key)) {
          return { error: { offset: key.range?.[0] ?? 0, message: `invalid YAML: a ${isMap(key) ? 'map' : 'list'} used as a map key (Kubernetes objects have string keys)` }, duplicates, merging };
        } else if (key !== null) stack.push({ node: key, depth: depth + 1 });
        stack.push({ node: pair.value, depth: depth + 1 });
      }
    } else if (isSeq(node)) for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
  }
  return { duplicates, merging };
}

/**
 * go-yaml v2 applies a `<<` merge where it stands (goyaml.v2/decode.go mapping(): the merge is unmarshalled into the
 * map at its position), so a merged key overrides an explicit one written before the `<<`; the yaml package lets
 * explicit keys win wherever they are. Dropping the explicit pairs that a later merge supplies gives kubectl's result.
 */
function applyMergesInPlace(maps: readonly YAMLMap[], doc: Document.Parsed): void {
  // Merged keys looked at, across the document: aliases let a few lines merge a large map many times.
  let budget = LIMITS.maxTokens;
  for (const map of maps) {
    const explicit = new Map<string, unknown>();
    const drop = new Set<unknown>();
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      if (typeof pair.key.value !== 'symbol') {
        explicit.set(String(pair.key.value), pair);
        continue;
      }
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const resolved = isAlias(source) ? source.resolve(doc) : source;
        if (!isMap(resolved)) continue;
        budget -= resolved.items.length;
        if (budget < 0) throw new Error(`more than ${LIMITS.maxTokens} merged keys in one document (the limit)`);
        for (const item of resolved.items) {
          if (!isScalar(item.key)) continue;
          const key = String(item.key.value);
          const earlier = explicit.get(key);
          if (earlier !== undefined) {
            drop.add(earlier);
            explicit.delete(key);
          }
        }
      }
    }
    if (drop.size > 0) map.items = map.items.filter((pair) => !drop.has(pair));
  }
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

export interface WalkReport {
  /** Unreadable or missing paths; the walk goes on with the rest. */
  errors: InputError[];
  /** Entries passed over (FIFOs, sockets, devices, directory loops), one line each. */
  notes: string[];
}

/**
 * Expands files and directories (recursively, YAML and JSON files only, sorted) into a list of files. Without a
 * report, the first problem throws; with one, problems are collected there and the walk goes on. In a directory,
 * anything but regular files and directories is passed over with a note (reading a FIFO would wait forever, a device
 * never ends); named directly, it is kept, for the reader to refuse. A directory reached again through a symlink is
 * walked once.
 */
export function expandPaths(paths: readonly string[], cwd = process.cwd(), report?: WalkReport): string[] {
  const files: string[] = [];
  const walk: WalkReport = report ?? { errors: [], notes: [] };
  const visited = new Set<string>();
  const visit = (path: string, explicit: boolean) => {
    let stat: Stats;
    try {
      stat = statSync(path);
    } catch (error) {
      walk.errors.push({ file: displayLabel(path, cwd), message: `cannot read: ${systemMessage(error)}` });
      return;
    }
    if (stat.isDirectory()) {
      const id = `${stat.dev}:${stat.ino}`;
      if (visited.has(id)) {
        walk.notes.push(`${displayLabel(path, cwd)}: skipped, a directory already read (a symlink loop?)`);
        return;
      }
      visited.add(id);
      let entries: string[];
      try {
        entries = readdirSync(path).sort();
      } catch (error) {
        walk.errors.push({ file: displayLabel(path, cwd), message: `cannot read directory: ${systemMessage(error)}` });
        return;
      }
      for (const entry of entries) {
        if (entry.startsWith('.')) continue;
        visit(join(path, entry), false);
      }
    } else if (explicit) {
      files.push(path);
    } else if (YAML_EXTENSIONS.test(path)) {
      const kind = nonRegularKind(stat);
      if (kind === undefined) files.push(path);
      else walk.notes.push(`${displayLabel(path, cwd)}: skipped, ${kind} is not a regular file`);
    }
  };
  for (const path of paths) {
    if (path === '') walk.errors.push({ file: 'apparmor-sim', message: 'an empty path names no file or directory' });
    else visit(resolve(cwd, path), true);
  }
  if (!report && walk.errors.length > 0) throw new InputFailure(walk.errors);
  return files;
}
