import type { Minor } from './types.js';

/** field.Error from k8s.io/apimachinery/pkg/util/validation/field/errors.go. */
export type FieldError =
  | { type: 'Invalid'; field: string; value: string; detail: string }
  | { type: 'Forbidden'; field: string; detail: string }
  | { type: 'Required'; field: string; detail: string }
  | { type: 'NotSupported'; field: string; value: string; supported: readonly string[] }
  | { type: 'TooLong'; field: string; maxLength: number };

/** Go's %q for the strings the model quotes (valid UTF-8; control characters escaped as Go does). */
export function goQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * The "Too long" detail changed wording: "must have at most %d bytes" up to 1.31 and "may not be more than %d bytes"
 * from 1.32 (apimachinery field/errors.go TooLong, reworded with the declarative-validation message cleanup).
 */
const TOO_LONG_REWORDED_IN: Minor = 32;

/** field.Error.Error() = "<field>: <ErrorBody>", ErrorBody per apimachinery field/errors.go. */
export function formatFieldError(error: FieldError, apiserver: Minor): string {
  switch (error.type) {
    case 'Invalid':
      return `${error.field}: Invalid value: ${goQuote(error.value)}: ${error.detail}`;
    case 'Forbidden':
      return `${error.field}: Forbidden: ${error.detail}`;
    case 'Required':
      return `${error.field}: Required value: ${error.detail}`;
    case 'NotSupported':
      return `${error.field}: Unsupported value: ${goQuote(error.value)}: supported values: ${error.supported.map(goQuote).join(', ')}`;
    case 'TooLong':
      return apiserver >= TOO_LONG_REWORDED_IN
        ? `${error.field}: Too long: may not be more than ${error.maxLength} bytes`
        : `${error.field}: Too long: must have at most ${error.maxLength} bytes`;
  }
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several in brackets; duplicates collapse. */
export function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

/** errors.NewInvalid(schema.GroupKind{Kind: "Pod"}, name, errs): HTTP 422, reason Invalid. */
export function invalidPodMessage(podName: string, errors: readonly FieldError[], apiserver: Minor): string {
  return `Pod ${goQuote(podName)} is invalid: ${aggregate(errors.map((error) => formatFieldError(error, apiserver)))}`;
}

/** errors.NewForbidden(schema.GroupResource{Resource: "pods"}, name, err): HTTP 403, reason Forbidden. */
export function forbiddenPodMessage(podName: string, cause: string): string {
  return `pods ${goQuote(podName)} is forbidden: ${cause}`;
}
