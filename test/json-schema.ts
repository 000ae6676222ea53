// A validator for the subset of JSON Schema 2020-12 that docs/schema/*.schema.json use. It refuses any keyword it
// does not implement, so a schema can never pass a document by using a keyword this code silently ignores.

type Schema = boolean | { [keyword: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', '$defs']);
const IMPLEMENTED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', '$ref', 'oneOf', 'anyOf', 'minimum', 'pattern']);

export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(root, root, value, '$', errors);
  return errors;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function resolveRef(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
  if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  return node as Schema;
}

function check(root: Schema, schema: Schema, value: unknown, path: string, errors: string[]): void {
  if (schema === true) return;
  if (schema === false) {
    errors.push(`${path}: not allowed`);
    return;
  }
  for (const keyword of Object.keys(schema)) {
    if (!ANNOTATIONS.has(keyword) && !IMPLEMENTED.has(keyword)) throw new Error(`schema keyword ${keyword} is not implemented by the test validator`);
  }
  if (typeof schema['$ref'] === 'string') check(root, resolveRef(root, schema['$ref']), value, path, errors);
  const type = schema['type'];
  if (type !== undefined) {
    const types = Array.isArray(type) ? (type as string[]) : [type as string];
    const actual = typeOf(value);
    if (!types.includes(actual) && !(actual === 'integer' && types.includes('number'))) {
      errors.push(`${path}: expected ${types.join(' or ')}, got ${actual}`);
      return;
    }
  }
  if ('const' in schema && !equal(schema['const'], value)) errors.push(`${path}: expected ${JSON.stringify(schema['const'])}, got ${JSON.stringify(value)}`);
  if (Array.isArray(schema['enum']) && !schema['enum'].some((item) => equal(item, value))) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  if (typeof schema['minimum'] === 'number' && typeof value === 'number' && value < schema['minimum']) errors.push(`${path}: ${value} < ${schema['minimum']}`);
  if (typeof schema['pattern'] === 'string' && typeof value === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema['pattern']}`);
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword];
    if (!Array.isArray(options)) continue;
    const results = (options as Schema[]).map((option) => {
      const found: string[] = [];
      check(root, option, value, path, found);
      return found;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (keyword === 'anyOf' ? passing === 0 : passing !== 1) {
      errors.push(`${path}: ${keyword} matched ${passing} of ${options.length}${passing === 0 ? `; closest: ${[...results].sort((a, b) => a.length - b.length)[0]?.slice(0, 3).join('; ')}` : ''}`);
    }
  }
  if (Array.isArray(value) && schema['items'] !== undefined) {
    value.forEach((item, i) => check(root, schema['items'] as Schema, item, `${path}[${i}]`, errors));
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const key of (schema['required'] ?? []) as string[]) if (!(key in object)) errors.push(`${path}: missing ${key}`);
    for (const [key, item] of Object.entries(object)) {
      const sub = properties[key];
      if (sub !== undefined) check(root, sub, item, `${path}.${key}`, errors);
      else if (schema['additionalProperties'] !== undefined) check(root, schema['additionalProperties'] as Schema, item, `${path}.${key}`, errors);
    }
  }
}
