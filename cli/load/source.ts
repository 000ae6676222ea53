import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type EmptyStream, type Node as YamlNode } from 'yaml';

/** A problem with user input: reported as `file:line:column: message`, exit code 2. */
export interface InputError {
  file: string;
  line?: number | undefined;
  column?: number | undefined;
  message: string;
}

export class InputFailure extends Error {
  constructor(readonly errors: InputError[]) {
    super(errors.map(formatInputError).join('\n'));
  }
}

export function formatInputError(error: InputError): string {
  const where = error.line !== undefined ? `${error.file}:${error.line}${error.column !== undefined ? `:${error.column}` : ''}` : error.file;
  return `${where}: ${error.message}`;
}

/** Limits that keep hostile input from exhausting memory; see README "Input limits". */
export const LIMITS = {
  /** Largest YAML file read (the 10,000-pod benchmark file is about 4 MiB). */
  maxFileBytes: 64 * 1024 * 1024,
  /** yaml's alias expansion cap: stops "billion laughs" documents. */
  maxAliasCount: 100,
  /** Deepest nesting accepted; Kubernetes objects are far shallower. */
  maxDepth: 64,
  maxDocuments: 100_000,
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
  const buffer = readFileSync(file);
  return decodeText(buffer, label);
}

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
  // Declared rather than ReturnType<typeof parseAllDocuments>, which loses the Parsed document type.
  let docs: Document.Parsed[] | EmptyStream;
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (error) {
    // The parser recurses per nesting level; absurd nesting overflows the stack before our depth check runs.
    throw new InputFailure([{ file, message: error instanceof RangeError ? `nesting too deep to parse (limit ${LIMITS.maxDepth} levels)` : `invalid YAML: ${firstLine(String(error))}` }]);
  }
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    // An empty stream parses to an EmptyStream object.
    return [];
  }
  if (list.length > LIMITS.maxDocuments) {
    throw new InputFailure([{ file, message: `${list.length} YAML documents, over the ${LIMITS.maxDocuments} limit` }]);
  }
  const errors: InputError[] = [];
  const result: YamlDocument[] = [];
  for (const doc of list) {
    for (const error of doc.errors) {
      const pos = lineCounter.linePos(error.pos[0]);
      errors.push({ file, line: pos.line, column: pos.col, message: `invalid YAML: ${firstLine(error.message)}` });
    }
    if (doc.errors.length > 0) continue;
    const contents = doc.contents;
    if (contents === null) continue;
    const depthError = tooDeep(contents);
    if (depthError !== undefined) {
      errors.push({ file, line: lineCounter.linePos(depthError).line, message: `nesting deeper than ${LIMITS.maxDepth} levels` });
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

function tooDeep(root: unknown): number | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (depth > LIMITS.maxDepth) {
      const range = (node as { range?: [number, number] } | null)?.range;
      return range ? range[0] : 0;
    }
    if (isMap(node)) for (const pair of node.items) stack.push({ node: pair.value, depth: depth + 1 });
    else if (isSeq(node)) for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
  }
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? message;
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
      throw new InputFailure([{ file: relative(cwd, path) || path, message: `cannot read: ${systemMessage(error)}` }]);
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
