// Unified diffs (`diff -u` / `git diff` shape) from line replacements whose positions are known, so no diff algorithm
// runs: the cost is linear in the size of the edits and their context.

/** Replace original lines [start, end) (0-based) with `lines`. Edits of one file are sorted and do not overlap. */
export interface LineEdit {
  start: number;
  end: number;
  lines: string[];
}

const CONTEXT = 3;

/** Splits text into lines without their newline; `finalNewline` says whether the last line had one. */
export function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: true };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, finalNewline };
}

export function applyLineEdits(lines: readonly string[], edits: readonly LineEdit[]): string[] {
  const out: string[] = [];
  let at = 0;
  for (const edit of edits) {
    for (; at < edit.start; at++) out.push(lines[at] ?? '');
    out.push(...edit.lines);
    at = edit.end;
  }
  for (; at < lines.length; at++) out.push(lines[at] ?? '');
  return out;
}

/** Shrinks an edit to the lines that really change (an edit that rewrites a whole document keeps equal lines). */
export function trimEdit(original: readonly string[], edit: LineEdit): LineEdit | undefined {
  let { start, end } = edit;
  let lines = edit.lines;
  let head = 0;
  while (start < end && head < lines.length && original[start] === lines[head]) {
    start++;
    head++;
  }
  let tail = lines.length;
  while (end > start && tail > head && original[end - 1] === lines[tail - 1]) {
    end--;
    tail--;
  }
  lines = lines.slice(head, tail);
  return start === end && lines.length === 0 ? undefined : { start, end, lines };
}

/**
 * The unified diff of `original` after `edits`, with `a/` and `b/` labels as git writes them; empty when nothing
 * changes. `finalNewline` of the original is kept by the edits (they never touch the last newline).
 */
export function unifiedDiff(label: string, original: readonly string[], given: readonly LineEdit[], finalNewline: boolean): string {
  if (given.length === 0) return '';
  const edits = finalNewline ? given : withLastLineReplaced(original, given);
  // git's a/ and b/ prefixes for relative paths (git apply, patch -p1); absolute paths as diff -u prints them.
  const [a, b] = label.startsWith('/') ? [label, label] : [`a/${label}`, `b/${label}`];
  const out: string[] = [`--- ${a}`, `+++ ${b}`];
  // Group edits whose contexts touch into hunks.
  const groups: LineEdit[][] = [];
  for (const edit of edits) {
    const last = groups[groups.length - 1];
    const previous = last?.[last.length - 1];
    if (last && previous && edit.start - previous.end <= 2 * CONTEXT) last.push(edit);
    else groups.push([edit]);
  }
  let shift = 0;
  // The new-file line numbers of everything before a hunk move by the edits before it.
  for (const group of groups) {
    const first = group[0] as LineEdit;
    const last = group[group.length - 1] as LineEdit;
    const from = Math.max(0, first.start - CONTEXT);
    const to = Math.min(original.length, last.end + CONTEXT);
    const body: string[] = [];
    let at = from;
    let oldCount = 0;
    let newCount = 0;
    for (const edit of group) {
      for (; at < edit.start; at++, oldCount++, newCount++) body.push(` ${original[at] ?? ''}`);
      for (; at < edit.end; at++, oldCount++) body.push(`-${original[at] ?? ''}`);
      for (const line of edit.lines) {
        body.push(`+${line}`);
        newCount++;
      }
    }
    for (; at < to; at++, oldCount++, newCount++) body.push(` ${original[at] ?? ''}`);
    const groupShift = group.reduce((n, e) => n + e.lines.length - (e.end - e.start), 0);
    const oldStart = oldCount === 0 ? from : from + 1;
    const newStart = newCount === 0 ? from + shift : from + shift + 1;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`, ...body);
    if (!finalNewline && to === original.length && original.length > 0) {
      // Both sides end without a newline: say so after the last line of each side that shows it.
      markMissingNewline(out);
    }
    shift += groupShift;
  }
  return `${out.join('\n')}\n`;
}

/**
 * A file without a final newline: an edit that reaches its end also replaces the line before it, so that the diff
 * shows the old last line (removed, without newline) and the new last line (added, without newline) as diff -u does.
 */
function withLastLineReplaced(original: readonly string[], edits: readonly LineEdit[]): LineEdit[] {
  const out = edits.map((e) => ({ ...e, lines: [...e.lines] }));
  const last = out[out.length - 1];
  if (!last || last.end < original.length || last.start === 0) return out;
  const previous = out[out.length - 2];
  const start = last.start - 1;
  if (previous && previous.end > start) return out;
  last.lines.unshift(original[start] ?? '');
  last.start = start;
  return out;
}

function markMissingNewline(out: string[]): void {
  const last = out[out.length - 1] ?? '';
  if (last.startsWith(' ')) {
    out.push('\\ No newline at end of file');
    return;
  }
  // The file's end was edited: the last removed line was the old last line, the last added line is the new one.
  let lastMinus = -1;
  for (let i = out.length - 1; i >= 0 && !(out[i] ?? '').startsWith('@@'); i--) {
    if ((out[i] ?? '').startsWith('-')) {
      lastMinus = i;
      break;
    }
  }
  if (last.startsWith('+')) out.push('\\ No newline at end of file');
  if (lastMinus !== -1) out.splice(lastMinus + 1, 0, '\\ No newline at end of file');
}

/**
 * The edits that turn `a` into `b` (Myers' O((N+M)D) algorithm), for rewrites whose changed lines are not known in
 * advance (a JSON file or a flow-style document printed again). Gives up (undefined) beyond `maxEdits` changed lines,
 * so that the cost stays bounded; the caller then shows the change as one replacement.
 */
export function lineDiff(a: readonly string[], b: readonly string[], maxEdits = 1000): LineEdit[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  let v: Int32Array = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0)) ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found !== -1) break;
  }
  if (found === -1) return undefined;
  // Walk back through the saved frontiers, collecting single-line deletions and insertions.
  const ops: { kind: 'del' | 'ins'; at: number; line?: string }[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    v = trace[d] as Int32Array;
    const k = x - y;
    const prevK = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0)) ? k + 1 : k - 1;
    const prevX = v[offset + prevK] ?? 0;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
    }
    if (prevK === k + 1) ops.push({ kind: 'ins', at: x, line: b[prevY] ?? '' });
    else ops.push({ kind: 'del', at: prevX });
    x = prevX;
    y = prevY;
  }
  ops.reverse();
  // Merge neighbouring operations into line edits.
  const edits: LineEdit[] = [];
  for (const op of ops) {
    const last = edits[edits.length - 1];
    if (op.kind === 'del') {
      if (last && last.end === op.at) last.end++;
      else edits.push({ start: op.at, end: op.at + 1, lines: [] });
    } else if (last && last.end === op.at) last.lines.push(op.line ?? '');
    else edits.push({ start: op.at, end: op.at, lines: [op.line ?? ''] });
  }
  return edits;
}
