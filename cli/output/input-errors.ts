// Input errors next to the decisions, in every output format: one bad file or document is reported where the results
// are, and the results of every other document are still there.
import type { InputError } from '../../io/load/source.js';
import { formatInputError } from '../../io/load/source.js';
import { escapeXml } from '../../io/junit.js';

export interface InputErrorJson {
  file: string;
  line: number | null;
  column: number | null;
  message: string;
}

export function inputErrorsJson(errors: readonly InputError[]): InputErrorJson[] {
  return errors.map((e) => ({ file: e.file, line: e.line ?? null, column: e.column ?? null, message: e.message }));
}

/** One <testcase> with an <error> per input error, so that CI shows the file as broken rather than passing. */
export function junitErrorCases(errors: readonly InputError[]): string[] {
  return errors.map((e) => {
    const where = e.line !== undefined ? `${e.file}:${e.line}` : e.file;
    return `    <testcase name="${escapeXml(`input error: ${where}`)}" classname="${escapeXml(where)}">\n      <error type="InputError" message="${escapeXml(e.message)}">${escapeXml(formatInputError(e))}</error>\n    </testcase>\n`;
  });
}

/** `file:line: error: message`, as the table prints it. */
export function tableErrorLine(error: InputError): string {
  return terminalSafe(formatInputError({ ...error, message: `error: ${error.message}` }));
}

// C0 controls (but tab), DEL and C1 controls: ESC and CSI start terminal escape sequences, CR and newlines rewrite or
// fake lines, NUL and BEL are noise.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\u001b': '\\e', '\u0000': '\\0' };

/**
 * Text from the input (names, annotations, messages that quote them) made safe for a terminal: control characters are
 * shown escaped (\e, \n, \x07, \u009b) instead of acting, as JSON, JUnit and SARIF already escape them.
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (ch) => NAMED[ch] ?? (ch.charCodeAt(0) <= 0xff ? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
