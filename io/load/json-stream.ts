// Incremental JSON reading for dumps too large to hold: `kubectl get pods -A -o json` of a big cluster is a `List`
// of 100,000 pods and hundreds of MB. The cutter below follows only strings and brackets, cuts out each element of
// the top-level object's `items` array (and each object of a concatenated object stream, as `kubectl get -o json`
// of several kinds or `jq -c` writes them), and hands every item over as its own text, parsed with JSON.parse, with
// the line it starts on. Memory is bounded by the largest item, not by the file.
import type { InputError, YamlDocument } from './source.js';
import { LIMITS } from './source.js';

/** A top-level value (or an item of a List) cut out of the stream, not parsed yet. */
export interface JsonPiece {
  /** 1-based line of its first character. */
  line: number;
  /** 1-based column of its first character. */
  column: number;
  text: string;
  /** 'item': an element of a top-level object's `items` array; 'object': a whole top-level value. */
  role: 'item' | 'object';
  /** For role 'item': its index in `items`. */
  index: number;
}

/** What the cutter reports: a piece, or a problem at a line (it keeps going after a problem inside one item). */
export type JsonCut = { piece: JsonPiece } | { error: { line: number; column?: number | undefined; message: string } };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NEWLINE = 0x0a;

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === NEWLINE || byte === 0x0d || byte === 0x09;
}

type Mode =
  /** Between top-level values. */
  | 'top'
  /** Inside a top-level object, outside its `items` array: the bytes go to the object's shell. */
  | 'shell'
  /** Inside the `items` array, between elements. */
  | 'items'
  /** Inside one element of `items`, or inside a top-level value that is not an object. */
  | 'piece';

/**
 * Cuts a byte stream of JSON into pieces. Feed it chunks with `push`, then call `end`; both return what was cut.
 * The top-level object's text without the elements of its `items` array (its "shell": apiVersion, kind, metadata) is
 * handed over as a piece of role 'object' when the object ends, with `"items":[]` in it.
 */
export class JsonCutter {
  private mode: Mode = 'top';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** At depth 1 of a top-level object: the next string is a key. */
  private expectKey = false;
  private keyBytes: number[] = [];
  private keyTooLong = false;
  /** The key just read at depth 1 was "items" and its value has not started yet. */
  private itemsKeyPending = false;
  private afterKey = false;
  /** Bytes of the piece being cut (or of the shell), as chunk slices, and their total size. */
  private parts: Buffer[] = [];
  private size = 0;
  private shellParts: Buffer[] = [];
  private shellSize = 0;
  private pieceStart: { line: number; column: number } = { line: 1, column: 1 };
  private shellStart: { line: number; column: number } = { line: 1, column: 1 };
  /** Set while the current piece is over the size limit: its bytes are dropped and it is reported once. */
  private pieceTooBig = false;
  private shellTooBig = false;
  private pieceDepth = 0;
  private itemIndex = 0;
  private itemsSeen = false;
  /** A top-level value that is a scalar (not an object or array): cut until whitespace. */
  private scalarPiece = false;
  private line = 1;
  /** Byte offset in the stream of the start of the current line, for columns. */
  private lineStartOffset = 0;
  private offset = 0;
  private maxDepthReported = false;

  constructor(private readonly limits: { maxPieceBytes: number; maxDepth: number } = { maxPieceBytes: LIMITS.maxFileBytes, maxDepth: LIMITS.maxDepth }) {}

  /** Lines read so far (for messages about the end of the input). */
  get currentLine(): number {
    return this.line;
  }

  /** The chunk must not be changed afterwards: pieces keep views of it until they are handed over. */
  push(chunk: Buffer): JsonCut[] {
    const out: JsonCut[] = [];
    const length = chunk.length;
    // Where the bytes of the current chunk that belong to the piece (or shell) being cut start.
    let keepFrom = this.mode === 'piece' ? 0 : this.mode === 'shell' ? 0 : -1;
    this.nextNewline = -2;
    let i = 0;
    const position = (at: number) => ({ line: this.line, column: this.offset + at - this.lineStartOffset + 1 });
    while (i < length) {
      if (this.inString) {
        // Jump to the closing quote; a backslash escapes the next byte. Each indexOf result is reused until passed.
        let j = i;
        if (this.escaped) {
          this.escaped = false;
          j++;
        }
        let end = -1;
        let quote = -2;
        let backslash = -2;
        while (j < length) {
          if (quote !== -1 && quote < j) quote = chunk.indexOf(QUOTE, j);
          if (backslash !== -1 && backslash < j) backslash = chunk.indexOf(BACKSLASH, j);
          if (backslash !== -1 && (quote === -1 || backslash < quote)) {
            if (backslash + 1 >= length) {
              this.escaped = true;
              j = length;
              break;
            }
            j = backslash + 2;
            continue;
          }
          if (quote === -1) j = length;
          else end = quote;
          break;
        }
        const stop = end === -1 ? length : end;
        if (this.mode === 'shell' && this.depth === 1 && this.expectKey) {
          for (let k = i; k < stop && !this.keyTooLong; k++) {
            if (this.keyBytes.length >= 8) this.keyTooLong = true;
            else this.keyBytes.push(chunk[k] as number);
          }
        }
        // Raw newlines are invalid in JSON strings; counted anyway so that the lines of later items stay right.
        this.countNewlines(chunk, i, stop);
        if (end === -1) {
          i = length;
          break;
        }
        this.inString = false;
        i = end + 1;
        if (this.mode === 'shell' && this.depth === 1 && this.expectKey) {
          this.expectKey = false;
          this.afterKey = true;
          this.itemsKeyPending = !this.keyTooLong && String.fromCharCode(...this.keyBytes) === 'items';
        }
        continue;
      }
      const byte = chunk[i] as number;
      if (byte === NEWLINE) {
        this.line++;
        this.lineStartOffset = this.offset + i + 1;
        i++;
        continue;
      }
      if (isSpace(byte)) {
        if (this.scalarPiece && this.mode === 'piece') {
          this.finishPiece(chunk, keepFrom, i, out);
          keepFrom = -1;
        }
        i++;
        continue;
      }
      switch (this.mode) {
        case 'top': {
          if (byte === OPEN_BRACE) {
            this.mode = 'shell';
            this.depth = 1;
            this.expectKey = true;
            this.itemsSeen = false;
            this.itemIndex = 0;
            this.shellStart = position(i);
            this.shellParts = [];
            this.shellSize = 0;
            this.shellTooBig = false;
            keepFrom = i;
            i++;
            continue;
          }
          // Anything else at the top is cut whole: an array, or a scalar the reader reports as not an object.
          this.startPiece(position(i), 'object', byte, 1);
          keepFrom = i;
          i++;
          continue;
        }
        case 'shell': {
          if (byte === QUOTE) {
            if (this.depth === 1 && this.expectKey) {
              this.keyBytes = [];
              this.keyTooLong = false;
            }
            this.inString = true;
            i++;
            continue;
          }
          if (this.depth === 1 && this.afterKey) {
            if (byte === COLON) {
              i++;
              continue;
            }
            this.afterKey = false;
            if (this.itemsKeyPending && byte === OPEN_BRACKET) {
              // The shell keeps `[`; the elements are cut one by one.
              this.itemsKeyPending = false;
              this.addShell(chunk, keepFrom, i + 1);
              keepFrom = -1;
              this.mode = 'items';
              this.depth = 2;
              this.itemsSeen = true;
              i++;
              continue;
            }
            this.itemsKeyPending = false;
          }
          if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.depth++;
            if (this.depth > this.limits.maxDepth) this.reportDepth(position(i), out);
          } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
            this.depth--;
            if (this.depth === 0) {
              this.addShell(chunk, keepFrom, i + 1);
              keepFrom = -1;
              this.finishShell(out);
              i++;
              continue;
            }
          } else if (byte === COMMA && this.depth === 1) {
            this.expectKey = true;
          }
          i++;
          continue;
        }
        case 'items': {
          if (byte === COMMA) {
            i++;
            continue;
          }
          if (byte === CLOSE_BRACKET) {
            this.mode = 'shell';
            this.depth = 1;
            keepFrom = i;
            i++;
            continue;
          }
          this.startPiece(position(i), 'item', byte, 3);
          keepFrom = i;
          i++;
          continue;
        }
        case 'piece': {
          if (byte === QUOTE) {
            this.inString = true;
            i++;
            continue;
          }
          if (this.scalarPiece) {
            if (byte === COMMA || byte === CLOSE_BRACKET || byte === CLOSE_BRACE || byte === OPEN_BRACE || byte === OPEN_BRACKET) {
              this.finishPiece(chunk, keepFrom, i, out);
              keepFrom = -1;
              continue;
            }
            i++;
            continue;
          }
          if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.pieceDepth++;
            this.depth++;
            if (this.depth > this.limits.maxDepth + 2) this.reportDepth(position(i), out);
          } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
            this.pieceDepth--;
            this.depth--;
            if (this.pieceDepth === 0) {
              this.finishPiece(chunk, keepFrom, i + 1, out);
              keepFrom = -1;
            }
          }
          i++;
          continue;
        }
      }
    }
    // Keep what belongs to an unfinished piece or shell.
    if (keepFrom !== -1) {
      if (this.mode === 'piece') this.addPiece(chunk, keepFrom, length, out);
      else if (this.mode === 'shell') this.addShell(chunk, keepFrom, length);
    }
    this.offset += length;
    return out;
  }

  end(): JsonCut[] {
    const out: JsonCut[] = [];
    if (this.mode === 'piece' && this.scalarPiece && !this.inString) {
      this.finishPiece(Buffer.alloc(0), 0, 0, out);
      return out;
    }
    if (this.mode !== 'top') {
      const start = this.mode === 'piece' ? this.pieceStart : this.shellStart;
      out.push({ error: { line: start.line, column: start.column, message: `invalid JSON: unexpected end of input (the value starting here is not closed${this.inString ? ', inside a string' : ''})` } });
    }
    return out;
  }

  /** Position of the next newline at or after the last lookup in the current chunk (-2: not looked up). */
  private nextNewline = -2;

  private countNewlines(chunk: Buffer, from: number, to: number): void {
    if (this.nextNewline !== -1 && this.nextNewline < from) this.nextNewline = chunk.indexOf(NEWLINE, from);
    while (this.nextNewline !== -1 && this.nextNewline < to) {
      this.line++;
      this.lineStartOffset = this.offset + this.nextNewline + 1;
      this.nextNewline = chunk.indexOf(NEWLINE, this.nextNewline + 1);
    }
  }

  /** A piece whose first byte is `first`: an object or array (opening nesting level `depth`), a string or a scalar. */
  private startPiece(at: { line: number; column: number }, role: 'item' | 'object', first: number, depth: number): void {
    this.mode = 'piece';
    this.pieceStart = at;
    this.parts = [];
    this.size = 0;
    this.pieceTooBig = false;
    this.role = role;
    const collection = first === OPEN_BRACE || first === OPEN_BRACKET;
    this.scalarPiece = !collection;
    this.pieceDepth = collection ? 1 : 0;
    if (collection) this.depth = depth;
    if (first === QUOTE) this.inString = true;
  }

  private role: 'item' | 'object' = 'object';

  private addPiece(chunk: Buffer, from: number, to: number, out: JsonCut[]): void {
    if (this.pieceTooBig || to <= from) return;
    this.size += to - from;
    if (this.size > this.limits.maxPieceBytes) {
      this.pieceTooBig = true;
      this.parts = [];
      out.push({ error: { line: this.pieceStart.line, message: `${this.role === 'item' ? `items[${this.itemIndex}]: ` : ''}an object of more than ${this.limits.maxPieceBytes} bytes, over the limit` } });
      return;
    }
    // A view, not a copy: readers hand over a fresh buffer per chunk (see push).
    this.parts.push(chunk.subarray(from, to));
  }

  private addShell(chunk: Buffer, from: number, to: number): void {
    if (this.shellTooBig || from < 0 || to <= from) return;
    this.shellSize += to - from;
    if (this.shellSize > this.limits.maxPieceBytes) {
      this.shellTooBig = true;
      this.shellParts = [];
      return;
    }
    this.shellParts.push(chunk.subarray(from, to));
  }

  private finishPiece(chunk: Buffer, from: number, to: number, out: JsonCut[]): void {
    this.addPiece(chunk, from, to, out);
    const role = this.role;
    if (!this.pieceTooBig) {
      const only = this.parts.length === 1 ? this.parts[0] : undefined;
      const text = only ? only.toString('utf8') : Buffer.concat(this.parts, this.size).toString('utf8');
      out.push({ piece: { line: this.pieceStart.line, column: this.pieceStart.column, text, role, index: role === 'item' ? this.itemIndex : 0 } });
    }
    this.parts = [];
    this.size = 0;
    this.scalarPiece = false;
    if (role === 'item') {
      this.itemIndex++;
      this.mode = 'items';
      this.depth = 2;
    } else {
      this.mode = 'top';
      this.depth = 0;
    }
  }

  private finishShell(out: JsonCut[]): void {
    this.mode = 'top';
    this.depth = 0;
    if (this.shellTooBig) {
      out.push({ error: { line: this.shellStart.line, message: `an object of more than ${this.limits.maxPieceBytes} bytes, over the limit` } });
      return;
    }
    const text = Buffer.concat(this.shellParts, this.shellSize).toString('utf8');
    this.shellParts = [];
    this.shellSize = 0;
    out.push({ piece: { line: this.shellStart.line, column: this.shellStart.column, text, role: 'object', index: this.itemsSeen ? this.itemIndex : -1 } });
  }

  private reportDepth(at: { line: number; column: number }, out: JsonCut[]): void {
    if (this.maxDepthReported) return;
    this.maxDepthReported = true;
    out.push({ error: { line: at.line, column: at.column, message: `nesting deeper than ${this.limits.maxDepth} levels` } });
  }
}

/** JSON.parse with the error placed at its line and column in the file. */
export function parsePiece(piece: JsonPiece, file: string): { value: unknown } | { error: InputError } {
  try {
    return { value: JSON.parse(piece.text) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // V8: `Unexpected token } in JSON at position 12`, or `..., "..." is not valid JSON` (Node 20+: with position).
    const at = /position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : 0;
    const { line, column } = lineColumn(piece, offset);
    if (piece.text.charCodeAt(offset) === 0x2f && /^\/[/*]/.test(piece.text.slice(offset, offset + 2))) return { error: { file, line, column, message: 'invalid JSON: comments (// or /* */) are not allowed in JSON' } };
    const text = message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/, '').replace(/ \(line \d+ column \d+\)$/, '');
    return { error: { file, line, column, message: `invalid JSON: ${text}` } };
  }
}

function lineColumn(piece: JsonPiece, offset: number): { line: number; column: number } {
  let line = piece.line;
  let lineStart = -1;
  for (let n = piece.text.indexOf('\n'); n !== -1 && n < offset; n = piece.text.indexOf('\n', n + 1)) {
    line++;
    lineStart = n;
  }
  return { line, column: lineStart === -1 ? piece.column + offset : offset - lineStart };
}

/**
 * A parsed piece as the manifest readers use a YAML document: its value, and the line of any path in it, found by
 * scanning the piece's text lazily (each object or array is scanned at most once, however many paths are asked).
 */
export function jsonDocument(file: string, piece: JsonPiece, value: unknown): YamlDocument {
  let locator: JsonLocator | undefined;
  return {
    file,
    line: piece.line,
    value,
    lineOf(path) {
      if (path.length === 0) return piece.line;
      locator ??= new JsonLocator(piece);
      return locator.lineOf(path);
    },
    sourceOf(path) {
      locator ??= new JsonLocator(piece);
      return locator.sourceOf(path);
    },
  };
}

interface Member {
  /** Offset of the key (objects) or of the value (arrays). */
  at: number;
  value: number;
}

interface ScannedNode {
  members: Map<string, Member>;
  /** Where scanning stopped (just after the last member read), or -1 once the node is read to its end. */
  cursor: number;
  isArray: boolean;
  count: number;
}

/** Finds paths in one JSON text. The text was accepted by JSON.parse, so the scanning can trust its syntax. */
export class JsonLocator {
  private readonly text: string;
  private readonly nodes = new Map<number, ScannedNode>();
  private newlines: number[] | undefined;

  constructor(private readonly piece: JsonPiece) {
    this.text = piece.text;
  }

  lineOf(path: readonly (string | number)[]): number {
    let offset = this.skipSpace(0);
    let found = offset;
    for (const key of path) {
      const member = this.member(offset, key);
      if (!member) break;
      found = member.at;
      offset = member.value;
    }
    return this.lineAt(found);
  }

  sourceOf(path: readonly (string | number)[]): string | undefined {
    let offset = this.skipSpace(0);
    for (const key of path) {
      const member = this.member(offset, key);
      if (!member) return undefined;
      offset = member.value;
    }
    const first = this.text.charCodeAt(offset);
    if (first === OPEN_BRACE || first === OPEN_BRACKET) return undefined;
    const raw = this.text.slice(offset, this.skipValue(offset));
    if (first === QUOTE) return JSON.parse(raw) as string;
    return raw;
  }

  private lineAt(offset: number): number {
    if (!this.newlines) {
      this.newlines = [];
      for (let n = this.text.indexOf('\n'); n !== -1; n = this.text.indexOf('\n', n + 1)) this.newlines.push(n);
    }
    // Lines before offset: binary search for the number of newlines below it.
    let low = 0;
    let high = this.newlines.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.newlines[mid] as number) < offset) low = mid + 1;
      else high = mid;
    }
    return this.piece.line + low;
  }

  /** The member `key` of the object or array at `offset`, scanning only as far as needed. */
  private member(offset: number, key: string | number): Member | undefined {
    const open = this.text.charCodeAt(offset);
    if (open !== OPEN_BRACE && open !== OPEN_BRACKET) return undefined;
    let node = this.nodes.get(offset);
    if (!node) {
      node = { members: new Map(), cursor: offset + 1, isArray: open === OPEN_BRACKET, count: 0 };
      this.nodes.set(offset, node);
    }
    const name = String(key);
    const known = node.members.get(name);
    if (known || node.cursor === -1) return known;
    let pos = node.cursor;
    for (;;) {
      pos = this.skipSpace(pos);
      let code = this.text.charCodeAt(pos);
      if (code === COMMA) {
        pos = this.skipSpace(pos + 1);
        code = this.text.charCodeAt(pos);
      }
      if (code === CLOSE_BRACE || code === CLOSE_BRACKET || Number.isNaN(code)) {
        node.cursor = -1;
        return undefined;
      }
      let memberName: string;
      let at = pos;
      if (node.isArray) {
        memberName = String(node.count++);
      } else {
        const keyEnd = this.skipString(pos);
        memberName = JSON.parse(this.text.slice(pos, keyEnd)) as string;
        pos = this.skipSpace(keyEnd);
        pos = this.skipSpace(pos + 1); // the colon
      }
      const valueAt = pos;
      if (node.isArray) at = valueAt;
      pos = this.skipValue(valueAt);
      const member = { at, value: valueAt };
      // Duplicate keys: JSON.parse keeps the last, and so does the lookup.
      node.members.set(memberName, member);
      node.cursor = pos;
      if (memberName === name) return member;
    }
  }

  private skipSpace(pos: number): number {
    const text = this.text;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    return pos;
  }

  /** From an opening quote to just after the closing one. */
  private skipString(pos: number): number {
    const text = this.text;
    let j = pos + 1;
    for (;;) {
      const q = text.indexOf('"', j);
      if (q === -1) return text.length;
      let backslashes = 0;
      for (let k = q - 1; k > pos && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
      if (backslashes % 2 === 0) return q + 1;
      j = q + 1;
    }
  }

  private skipValue(pos: number): number {
    const text = this.text;
    const first = text.charCodeAt(pos);
    if (first === QUOTE) return this.skipString(pos);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      while (pos < text.length) {
        const c = text.charCodeAt(pos);
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
        pos++;
      }
      return pos;
    }
    let depth = 0;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === QUOTE) {
        pos = this.skipString(pos);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return pos + 1;
      }
      pos++;
    }
    return pos;
  }
}
