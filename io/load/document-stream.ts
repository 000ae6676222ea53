// Reads one manifest input a chunk at a time and hands over its documents one by one, so that memory and the input
// limits apply per document, not per file: a JSON stream (`kubectl get pods -A -o json`) is cut into its items by
// io/load/json-stream.ts, and a YAML stream is split at its `---` lines as kubectl splits it, each document parsed on
// its own and dropped before the next is read.
import type { InputError, YamlDocument } from './source.js';
import { InputFailure, LIMITS, firstInvalidUtf8, inLineOrder, newlineBytesIn, newlinesIn, parseYamlDocumentsRecovering, readChunk } from './source.js';
import type { JsonCut } from './json-stream.js';
import { JsonCutter, jsonDocument, parsePiece } from './json-stream.js';
import { SCALE_LIMITS } from './scale-limits.js';

/**
 * How an input is read. Standard input is JSON when its first non-blank byte is `{`, as kubectl decides
 * (k8s.io/apimachinery pkg/util/yaml/decoder.go NewYAMLOrJSONDecoder: GuessJSONStream); `.json` files are JSON;
 * other files are YAML (whose documents may be JSON).
 */
export type InputFormat = 'json' | 'yaml' | 'sniff';

export function formatOf(file: string): InputFormat {
  if (file === '-') return 'sniff';
  return /\.json$/i.test(file) ? 'json' : 'yaml';
}

/** Receives an input's documents and errors in the order they stand in it. */
export interface DocumentSink {
  document(doc: YamlDocument): void;
  error(error: InputError): void;
  /** Called when the input has nothing to read yet (a pipe whose writer is slow). */
  idle?: (() => void) | undefined;
}

const CHUNK_BYTES = 1 << 20;

interface Consumer {
  push(bytes: Buffer, text: string): void;
  end(): void;
}

/**
 * Reads an open descriptor to its end. Binary data and invalid UTF-8 stop the input at their line (the documents
 * before them are handed over); the whole input is bounded by SCALE_LIMITS.maxStreamBytes, each document by the
 * per-document LIMITS of io/load/source.ts.
 */
export function readDocuments(fd: number, label: string, format: InputFormat, sink: DocumentSink): void {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let consumer: Consumer | undefined = format === 'sniff' ? undefined : consumerFor(format, label, sink);
  // Standard input before its first non-blank byte, while its format is not known yet (only blanks: no decoding).
  const held: Buffer[] = [];
  let heldBytes = 0;
  let total = 0;
  let lines = 1;
  for (;;) {
    // A fresh buffer per chunk: the JSON cutter's pieces keep views of it until they are handed over.
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let read: number;
    try {
      read = readChunk(fd, chunk, label, sink.idle);
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      for (const e of error.errors) sink.error(e);
      return;
    }
    if (read === 0) break;
    const bytes = chunk.subarray(0, read);
    total += read;
    if (total > SCALE_LIMITS.maxStreamBytes) {
      sink.error({ file: label, message: `input is over the ${SCALE_LIMITS.maxStreamBytes}-byte limit` });
      return;
    }
    if (consumer === undefined) {
      const first = firstNonBlank(bytes);
      heldBytes += bytes.length;
      // Blanks beyond a document's size are YAML (an empty document, over the size limit): not held any longer.
      if (first === -1 && heldBytes <= LIMITS.maxFileBytes) {
        held.push(bytes);
        lines += newlineBytesIn(bytes);
        continue;
      }
      consumer = consumerFor(first !== -1 && bytes[first] === 0x7b ? 'json' : 'yaml', label, sink);
      for (const blank of held.splice(0)) consumer.push(blank, blank.toString('latin1'));
    }
    const active = consumer;
    // Binary data and invalid UTF-8 end the input at their line; the documents completed before them are still read.
    const stop = (at: number, message: string) => {
      const good = bytes.subarray(0, at);
      if (at > 0) active.push(good, new TextDecoder('utf-8', { ignoreBOM: true }).decode(good));
      sink.error({ file: label, line: lines + newlineBytesIn(bytes, at), message });
    };
    const nul = bytes.indexOf(0);
    if (nul !== -1) {
      const bad = firstInvalidUtf8(bytes.subarray(0, nul));
      stop(bad, bad === nul ? 'binary data (NUL byte): expected YAML text' : 'invalid UTF-8: expected YAML text');
      return;
    }
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      // The line of the first bad sequence in this chunk (a sequence cut by the chunk's start is placed at its line).
      stop(firstInvalidUtf8(bytes), 'invalid UTF-8: expected YAML text');
      return;
    }
    lines += newlineBytesIn(bytes);
    active.push(bytes, text);
  }
  try {
    decoder.decode();
  } catch {
    sink.error({ file: label, line: lines, message: 'invalid UTF-8: expected YAML text' });
    return;
  }
  (consumer ?? consumerFor('yaml', label, sink)).end();
}

/** Offset of the first byte that is not a blank (space, tab, CR, LF), or -1. */
function firstNonBlank(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return i;
  }
  return -1;
}

function consumerFor(format: 'json' | 'yaml', label: string, sink: DocumentSink): Consumer {
  return format === 'json' ? new JsonConsumer(label, sink) : new YamlSplitter(label, sink);
}

class JsonConsumer implements Consumer {
  private readonly cutter = new JsonCutter();
  constructor(
    private readonly label: string,
    private readonly sink: DocumentSink,
  ) {}

  push(bytes: Buffer): void {
    this.handle(this.cutter.push(bytes));
  }

  end(): void {
    this.handle(this.cutter.end());
  }

  private handle(cuts: JsonCut[]): void {
    for (const cut of cuts) {
      if ('error' in cut) {
        this.sink.error({ file: this.label, line: cut.error.line, column: cut.error.column, message: cut.error.message });
        continue;
      }
      const parsed = parsePiece(cut.piece, this.label);
      if ('error' in parsed) this.sink.error(parsed.error);
      else this.sink.document(jsonDocument(this.label, cut.piece, parsed.value));
    }
  }
}

/**
 * Splits YAML text into documents at separator lines as kubectl's reader does (k8s.io/apimachinery
 * pkg/util/yaml/decoder.go YAMLReader.Read: a line starting with `---` followed only by blanks or a comment), and
 * parses each document on its own. A document over the per-document size limit is an error at its first line; the
 * documents after it are still read.
 */
class YamlSplitter implements Consumer {
  /** Text of the current document before `tail`. */
  private parts: string[] = [];
  private partsLength = 0;
  /** The current document's last, unfinished line (a separator may still start there). */
  private tail = '';
  private startLine = 1;
  /** The current document is over the size limit: its text is dropped up to the next separator. */
  private oversized = false;
  private oversizedLines = 0;
  private midLine = false;

  constructor(
    private readonly label: string,
    private readonly sink: DocumentSink,
  ) {}

  push(_bytes: Buffer, text: string): void {
    const buffer = this.tail + text;
    let segment = 0;
    // `buffer` starts at a line start, unless an overlong line was handed on unfinished.
    let start = this.midLine ? nextLineStart(buffer, 0) : 0;
    this.midLine = false;
    while (start !== -1) {
      if (buffer.startsWith('---', start)) {
        const end = buffer.indexOf('\n', start);
        // An unfinished separator line stays in the tail until its end is read.
        if (end === -1) break;
        if (isSeparatorRest(buffer.slice(start + 3, end))) {
          this.append(buffer.slice(segment, start));
          this.finishDocument();
          segment = start;
        }
      }
      start = nextLineStart(buffer, start);
    }
    const lastNewline = buffer.lastIndexOf('\n');
    const complete = lastNewline < segment ? segment : lastNewline + 1;
    this.append(buffer.slice(segment, complete));
    this.tail = buffer.slice(complete);
    // A line without end (a minified file, endless bytes) is not held twice: it goes to the document as it comes.
    if (this.tail.length > OVERLONG_LINE) {
      this.append(this.tail);
      this.tail = '';
      this.midLine = true;
    }
  }

  end(): void {
    this.append(this.tail);
    this.tail = '';
    this.finishDocument();
  }

  private append(text: string): void {
    if (text === '') return;
    if (this.oversized) {
      this.oversizedLines += newlinesIn(text);
      return;
    }
    this.parts.push(text);
    this.partsLength += text.length;
    if (this.partsLength > LIMITS.maxFileBytes) {
      const looksJson = jsonBody(this.parts[0] ?? '') !== undefined;
      this.sink.error({
        file: this.label,
        line: this.startLine,
        message: `a YAML document of more than ${LIMITS.maxFileBytes} characters, over the limit${looksJson ? ' (a JSON List is read an item at a time from a .json file or from standard input)' : ''}`,
      });
      this.oversized = true;
      this.oversizedLines = this.parts.reduce((n, part) => n + newlinesIn(part), 0);
      this.parts = [];
      this.partsLength = 0;
    }
  }

  private finishDocument(): void {
    if (this.oversized) {
      this.startLine += this.oversizedLines;
      this.oversized = false;
      this.oversizedLines = 0;
      return;
    }
    const text = this.parts.length === 1 ? (this.parts[0] ?? '') : this.parts.join('');
    this.parts = [];
    this.partsLength = 0;
    if (text === '') return;
    const line = this.startLine;
    this.startLine += newlinesIn(text);
    parseDocumentText(text, this.label, line, this.sink);
  }
}

const OVERLONG_LINE = 1 << 20;

/** The start of the next line after `from` that begins with `---`: the candidates for separators. */
function nextLineStart(buffer: string, from: number): number {
  const at = buffer.indexOf('\n---', from);
  return at === -1 ? -1 : at + 1;
}

/** What may follow `---` on a separator line (YAMLReader.Read: blanks, or a comment). */
function isSeparatorRest(rest: string): boolean {
  const trimmed = rest.trim();
  return trimmed === '' || trimmed.startsWith('#');
}

/**
 * One document's text. A document that is JSON (kubectl and jq write them, and YAML is a superset of JSON) is read
 * with JSON.parse, which gives the same value far faster; anything else, or JSON that does not parse, goes to the
 * YAML reader with its limits and messages.
 */
function parseDocumentText(text: string, label: string, line: number, sink: DocumentSink): void {
  const json = jsonBody(text);
  if (json !== undefined && !deeperThan(json.text, LIMITS.maxDepth)) {
    let value: unknown;
    try {
      value = JSON.parse(json.text);
    } catch {
      value = undefined;
    }
    if (value !== undefined) {
      sink.document(jsonDocument(label, { line: line + json.lineOffset, column: 1, text: json.text, role: 'object', index: -1 }, value));
      return;
    }
  }
  const { documents, errors } = parseYamlDocumentsRecovering(text, label, line, 'document');
  inLineOrder(documents, errors, (doc) => sink.document(doc), (error) => sink.error(error));
}

/** The JSON object of a document that is one (after blank lines and an optional `---` line), from its `{` on. */
function jsonBody(text: string): { text: string; lineOffset: number } | undefined {
  let at = skipBlank(text, 0);
  if (text.startsWith('---', at)) {
    const end = text.indexOf('\n', at);
    if (end === -1) return undefined;
    at = skipBlank(text, end + 1);
  }
  if (text.charCodeAt(at) !== 0x7b) return undefined;
  return { text: text.slice(at), lineOffset: newlinesIn(text.slice(0, at)) };
}

function skipBlank(text: string, from: number): number {
  let at = from;
  for (let c = text.charCodeAt(at); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++at));
  return at;
}

/** Whether brackets nest deeper than `max` outside strings (JSON.parse takes any depth; the readers after it do not). */
function deeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
