import type { Minor } from './types.js';

/** field.Error from k8s.io/apimachinery/pkg/util/validation/field/errors.go. */
export type FieldError =
  | { type: 'Invalid'; field: string; value: string; detail: string }
  | { type: 'Forbidden'; field: string; detail: string }
  | { type: 'Required'; field: string; detail: string }
  | { type: 'NotSupported'; field: string; value: string; supported: readonly string[] }
  /** `maxLengthHelper`: the caller used field.TooLongMaxLength (1.24+), worded differently until 1.31. */
  | { type: 'TooLong'; field: string; maxLength: number; maxLengthHelper?: boolean };

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
 * apimachinery field/errors.go: TooLong said "must have at most %d characters" until 1.16 and "... bytes" from 1.17
 * (commit 0560dfa3); TooLongMaxLength (added 1.24) said "may not be longer than %d"; from 1.32 both say
 * "may not be more than %d bytes" (TooLongMaxLength became an alias of TooLong, commit 51cdbebd).
 */
const TOO_LONG_IN_BYTES_FROM: Minor = 17;
const TOO_LONG_REWORDED_IN: Minor = 32;

function tooLongDetail(maxLength: number, maxLengthHelper: boolean, apiserver: Minor): string {
  if (apiserver >= TOO_LONG_REWORDED_IN) return `may not be more than ${maxLength} bytes`;
  if (maxLengthHelper) return `may not be longer than ${maxLength}`;
  return apiserver >= TOO_LONG_IN_BYTES_FROM ? `must have at most ${maxLength} bytes` : `must have at most ${maxLength} characters`;
}

/** field.Error.Error() = "<field>: <ErrorBody>", ErrorBody per apimachinery field/errors.go. */
export function formatFieldError(error: FieldError, apiserver: Minor): string {
  switch (error.type) {
    case 'Invalid':
      return `${error.field}: Invalid value: ${goQuote(error.value)}: ${error.detail}`;
    case 'Forbidden':
      return `${error.field}: Forbidden: ${error.detail}`;
    case 'Required':
      // ErrorBody appends ": <detail>" only when there is a detail (field.Required(path, "") prints "Required value").
      return error.detail ? `${error.field}: Required value: ${error.detail}` : `${error.field}: Required value`;
    case 'NotSupported':
      return `${error.field}: Unsupported value: ${goQuote(error.value)}: supported values: ${error.supported.map(goQuote).join(', ')}`;
    case 'TooLong':
      return `${error.field}: Too long: ${tooLongDetail(error.maxLength, error.maxLengthHelper === true, apiserver)}`;
  }
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several in brackets; duplicates collapse. */
export function aggregate(messages: readonly string[]): string {
  const unique = [...new Set(messages)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

/** errors.NewInvalid(schema.GroupKind{Kind: "Pod"}, name, errs): HTTP 422, reason Invalid. */
export function invalidPodMessage(podName: string, errors: readonly FieldError[], apiserver: Minor): string {
  return invalidMessage('Pod', podName, errors, apiserver);
}

/**
 * errors.NewInvalid(qualifiedKind, name, errs), staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go:
 * fmt.Sprintf("%s %q is invalid: %v", qualifiedKind.String(), name, errs.ToAggregate()); GroupKind.String() is
 * "Kind.group", or "Kind" for the core group. HTTP 422, reason Invalid.
 */
export function invalidMessage(groupKind: string, name: string, errors: readonly FieldError[], apiserver: Minor): string {
  return `${groupKind} ${goQuote(name)} is invalid: ${aggregate(errors.map((error) => formatFieldError(error, apiserver)))}`;
}

/**
 * A body the strict decoder refuses: transformDecodeError, staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go
 * ("%s in version %q cannot be handled as a %s: %v", HTTP 400 BadRequest) around runtime's strictDecodingError
 * ("strict decoding error: " + the errors joined by ", "), apimachinery pkg/runtime/serializer/json.
 */
export function strictDecodingMessage(kind: string, version: string, unknownFields: readonly string[]): string {
  return `${kind} in version ${goQuote(version)} cannot be handled as a ${kind}: strict decoding error: ${unknownFields.map((f) => `unknown field ${goQuote(f)}`).join(', ')}`;
}

/** errors.NewForbidden(schema.GroupResource{Resource: "pods"}, name, err): HTTP 403, reason Forbidden. */
export function forbiddenPodMessage(podName: string, cause: string): string {
  return `pods ${goQuote(podName)} is forbidden: ${cause}`;
}
