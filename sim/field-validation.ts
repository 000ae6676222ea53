import type { FieldValidation, Minor } from './types.js';

/**
 * Server-side field validation (KEP-2885): the fieldValidation query parameter is alpha behind
 * ServerSideFieldValidation (off) in 1.23-1.24, beta and on in 1.25, GA in 1.27 (CHANGELOG-1.25, CHANGELOG-1.27). Before
 * 1.25 (by default) the server ignores the parameter and drops unknown fields silently. From 1.25, a request without the
 * parameter gets Warn: "unknown field" warnings (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go
 * addStrictDecodingWarnings), Strict refuses the body (transformDecodeError, HTTP 400), Ignore drops silently.
 */
export const SERVER_SIDE_FIELD_VALIDATION_FROM: Minor = 25;

/** What the server does with an unknown field for that request. */
export function effectiveFieldValidation(requested: FieldValidation | undefined, apiserver: Minor): FieldValidation {
  if (apiserver < SERVER_SIDE_FIELD_VALIDATION_FROM) return 'Ignore';
  return requested ?? 'Warn';
}

/**
 * What `kubectl apply` of the same minor sends: kubectl 1.25+ defaults to --validate=strict and, when the server
 * publishes the fieldValidation parameter (1.25+), sends fieldValidation=Strict (staging/src/k8s.io/kubectl/pkg/cmd/util
 * AddValidateFlags, "strict" default since kubectl 1.25). Older kubectl validates client-side against the server's
 * OpenAPI schema instead (--validate=true), which the model reports as a note, not as a server answer.
 */
export function kubectlDefaultFieldValidation(version: Minor): FieldValidation | undefined {
  return version >= SERVER_SIDE_FIELD_VALIDATION_FROM ? 'Strict' : undefined;
}
