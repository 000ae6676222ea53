// Turns migration plans into edits of the manifest text. Block-style YAML (what kubectl, helm and people write) is
// edited in place, line by line, at the positions the `yaml` Document API reports for each node: every other byte of
// the file (comments, key order, quoting, indentation, blank lines) stays as it was. Where a plan touches flow-style
// YAML ({...}, JSON), the document is changed through the Document API and printed again by the yaml library, which
// keeps comments and order but may respace that document; the caller says so.
import type { Document, Node as YamlNode, Pair, Scalar } from 'yaml';
import { Document as YamlDocument, isMap, isScalar, parse as parseYaml, YAMLMap } from 'yaml';
import type { LineEdit } from '../output/diff.js';
import type { Path, PodPlan } from './migrate-plan.js';
import { fieldObject } from './migrate-plan.js';

export interface TextEdit {
  /** Offsets in the text; both at line starts. */
  from: number;
  to: number;
  lines: string[];
}

export class NotBlockStyle extends Error {}

/** Line starts of a text that ends with a newline. */
export class Lines {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i !== -1 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  /** 0-based line of an offset. */
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  startOfLine(line: number): number {
    return line < this.starts.length ? (this.starts[line] ?? this.text.length) : this.text.length;
  }
  column(offset: number): number {
    return offset - this.startOfLine(this.lineOf(offset));
  }
  /** Whether only spaces precede the offset on its line (a line that can be deleted whole). */
  aloneOnLine(offset: number): boolean {
    return /^[ ]*$/.test(this.text.slice(this.startOfLine(this.lineOf(offset)), offset));
  }
  /** Whether only spaces (or a sequence's "- ") precede the offset on its line. */
  startsLine(offset: number): boolean {
    return /^[ ]*(- +)*$/.test(this.text.slice(this.startOfLine(this.lineOf(offset)), offset));
  }
}

/** Block-style edits of one document for the plans of its pods; throws NotBlockStyle where that is not possible. */
export function blockEdits(doc: Document.Parsed, lines: Lines, sites: readonly { podPath: Path; plan: PodPlan }[]): TextEdit[] {
  const edits: TextEdit[] = [];
  for (const { podPath, plan } of sites) {
    const pod = blockMapAt(doc, podPath);
    const spec = blockMapAt(doc, [...podPath, 'spec']);
    const step = Math.max(1, keyColumn(spec, lines) - keyColumnOfPair(pod, 'spec', lines));
    for (const change of plan.containerFields) {
      const container = blockMapAt(doc, [...podPath, 'spec', change.kind, change.index]);
      edits.push(insertProfile(doc, container, [...podPath, 'spec', change.kind, change.index], fieldObject(change.field), step, lines));
    }
    if (plan.podField) edits.push(insertProfile(doc, spec, [...podPath, 'spec'], fieldObject(plan.podField), step, lines));
    if (plan.removeAnnotations.length > 0) edits.push(...removeAnnotations(doc, [...podPath, 'metadata'], plan.removeAnnotations, lines));
  }
  return edits.sort((a, b) => a.from - b.from);
}

function blockMapAt(doc: Document.Parsed, path: Path): YAMLMap {
  const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (!isMap(node) || node.flow || node.items.length === 0) throw new NotBlockStyle();
  return node;
}

function keyColumn(map: YAMLMap, lines: Lines): number {
  const key = map.items[0]?.key;
  const range = isScalar(key) ? key.range : undefined;
  if (!range || !lines.startsLine(range[0])) throw new NotBlockStyle();
  return lines.column(range[0]);
}

function keyColumnOfPair(map: YAMLMap, key: string, lines: Lines): number {
  const pair = findPair(map, key);
  const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
  return range ? lines.column(range[0]) : 0;
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === key);
}

/** The offset of the line after the last line a node's value occupies. */
function afterNode(node: YamlNode | Scalar | null | undefined, lines: Lines): number {
  const range = node?.range;
  if (!range) throw new NotBlockStyle();
  return lines.startOfLine(lines.lineOf(Math.max(range[0], range[1] - 1)) + 1);
}

/** The line after a block map's last entry (before comments that trail the map). */
function afterLastPair(map: YAMLMap, lines: Lines): number {
  const last = map.items[map.items.length - 1];
  const value = last?.value as YamlNode | null | undefined;
  return afterNode(value && value.range ? value : (last?.key as YamlNode | undefined), lines);
}

/** Adds `securityContext.appArmorProfile` to a pod spec or a container (into an existing block securityContext). */
function insertProfile(doc: Document.Parsed, map: YAMLMap, mapPath: Path, field: Record<string, string>, step: number, lines: Lines): TextEdit {
  const profile = Object.entries(field).map(([k, v]) => `${k}: ${plainOrQuoted(v)}`);
  const existing = doc.getIn([...mapPath, 'securityContext'], true);
  if (existing !== undefined) {
    // Into the existing securityContext, which must itself be a non-empty block map.
    const sc = blockMapAt(doc, [...mapPath, 'securityContext']);
    const indent = ' '.repeat(keyColumn(sc, lines));
    const at = afterLastPair(sc, lines);
    return { from: at, to: at, lines: [`${indent}appArmorProfile:`, ...profile.map((l) => `${indent}${' '.repeat(step)}${l}`)] };
  }
  const indent = ' '.repeat(keyColumn(map, lines));
  const at = afterLastPair(map, lines);
  const pad = ' '.repeat(step);
  return { from: at, to: at, lines: [`${indent}securityContext:`, `${indent}${pad}appArmorProfile:`, ...profile.map((l) => `${indent}${pad}${pad}${l}`)] };
}

function removeAnnotations(doc: Document.Parsed, metadataPath: Path, keys: readonly string[], lines: Lines): TextEdit[] {
  const metadata = blockMapAt(doc, metadataPath);
  const annotations = blockMapAt(doc, [...metadataPath, 'annotations']);
  const pairs = keys.map((key) => findPair(annotations, key));
  if (pairs.length === annotations.items.length) {
    // Nothing left: the annotations key goes too, and a template's metadata that held only annotations.
    if (metadata.items.length === 1 && metadataPath.length > 1) {
      const parent = blockMapAt(doc, metadataPath.slice(0, -1));
      const key = findPair(parent, 'metadata')?.key;
      if (!isScalar(key) || !key.range || !lines.aloneOnLine(key.range[0])) throw new NotBlockStyle();
      return [{ from: lines.startOfLine(lines.lineOf(key.range[0])), to: afterNode(metadata, lines), lines: [] }];
    }
    const pair = findPair(metadata, 'annotations');
    const key = pair?.key;
    if (!isScalar(key) || !key.range || !lines.aloneOnLine(key.range[0])) throw new NotBlockStyle();
    return [{ from: lines.startOfLine(lines.lineOf(key.range[0])), to: afterNode(annotations, lines), lines: [] }];
  }
  return pairs.map((pair) => {
    const key = pair?.key;
    if (!pair || !isScalar(key) || !key.range || !lines.aloneOnLine(key.range[0])) throw new NotBlockStyle();
    const value = pair.value as YamlNode | null;
    return { from: lines.startOfLine(lines.lineOf(key.range[0])), to: afterNode(value ?? key, lines), lines: [] };
  });
}

/** A profile name as a plain scalar when YAML reads it back as the same string, else double-quoted. */
function plainOrQuoted(value: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(value)) {
    try {
      if (parseYaml(value) === value) return value;
    } catch {
      // Quote it.
    }
  }
  return JSON.stringify(value);
}

/** Applies the plans through the Document API (flow style); the caller prints the document again. */
export function documentEdit(doc: Document.Parsed, sites: readonly { podPath: Path; plan: PodPlan }[]): Document {
  const copy = doc.clone();
  for (const { podPath, plan } of sites) {
    for (const change of plan.containerFields) setProfile(copy, [...podPath, 'spec', change.kind, change.index], fieldObject(change.field));
    if (plan.podField) setProfile(copy, [...podPath, 'spec'], fieldObject(plan.podField));
    for (const key of plan.removeAnnotations) copy.deleteIn([...podPath, 'metadata', 'annotations', key]);
    const annotations = copy.getIn([...podPath, 'metadata', 'annotations'], true);
    if (plan.removeAnnotations.length > 0 && isMap(annotations) && annotations.items.length === 0) {
      copy.deleteIn([...podPath, 'metadata', 'annotations']);
      const metadata = copy.getIn([...podPath, 'metadata'], true);
      if (isMap(metadata) && metadata.items.length === 0) copy.deleteIn([...podPath, 'metadata']);
    }
  }
  return copy;
}

function setProfile(doc: Document, mapPath: Path, field: Record<string, string>): void {
  const sc = doc.getIn([...mapPath, 'securityContext'], true);
  if (isMap(sc)) sc.set('appArmorProfile', doc.createNode(field));
  else doc.setIn([...mapPath, 'securityContext'], doc.createNode({ appArmorProfile: field }));
}

/** The contents of a document printed again (without the comments before it, which stay in the text). */
export function printContents(doc: Document, source: string): string[] {
  const contents = doc.contents;
  const printed = new YamlDocument(null);
  if (contents) {
    contents.commentBefore = null;
    contents.spaceBefore = false;
  }
  printed.contents = contents;
  // kubectl and helm print sequences under a key without indenting them; keep whichever the document uses.
  const indentSeq = !/\n( *)[^\s#][^\n]*:[ ]*\n\1- /.test(source);
  return printed.toString({ lineWidth: 0, flowCollectionPadding: false, indentSeq }).replace(/\n$/, '').split('\n');
}

/** Line edits from text edits at line starts (insertions at one offset keep their order). */
export function toLineEdits(edits: readonly TextEdit[], lines: Lines): LineEdit[] {
  return edits.map((edit) => ({ start: lines.lineOf(edit.from) + (edit.from === lines.text.length ? 1 : 0), end: edit.to >= lines.text.length ? lines.starts.length : lines.lineOf(edit.to), lines: edit.lines }));
}

