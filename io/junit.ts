// The JUnit envelope and XML escaping, shared by the CLI's reports and the conformance harness.

/** The JUnit envelope; `cases` are rendered <testcase> elements (an entry may hold several, hence the counts). */
export function junitDocument(suite: string, cases: readonly string[], failures: number, counts: { tests?: number; skipped?: number; errors?: number } = {}): string {
  const tests = counts.tests ?? cases.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    `<testsuites tests="${tests}" failures="${failures}">\n`,
    `  <testsuite name="${escapeXml(suite)}" tests="${tests}" failures="${failures}" errors="${counts.errors ?? 0}" skipped="${counts.skipped ?? 0}">\n`,
    ...cases,
    '  </testsuite>\n',
    '</testsuites>\n',
  ].join('');
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes markup and replaces characters XML 1.0 cannot hold at all (control characters, lone surrogates). */
export function escapeXml(text: string): string {
  return text
    .replace(/[&<>"']/g, (ch) => XML_ENTITIES[ch] ?? ch)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
