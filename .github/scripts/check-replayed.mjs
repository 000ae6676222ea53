// Fails (exit 1) when a conformance JUnit file shows that nothing was replayed: the file is missing or unreadable, or
// every test case is skipped or an error. A kind cluster that came up but compared nothing must not pass CI.
// Usage: node .github/scripts/check-replayed.mjs conformance-1.35.xml
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let text = '';
try {
  text = readFileSync(file ?? '', 'utf8');
} catch (error) {
  console.log(`::error title=conformance::no JUnit file ${file ?? '(none given)'}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const head = /<testsuites tests="(\d+)" failures="(\d+)" errors="(\d+)" skipped="(\d+)"/.exec(text);
if (!head) {
  console.log(`::error title=conformance::${file} is not the harness's JUnit output`);
  process.exit(1);
}
const [tests, failures, errors, skipped] = head.slice(1).map(Number);
const replayed = tests - errors - skipped;
if (replayed <= 0) {
  console.log(`::error title=conformance::${file}: nothing was replayed (${tests} test cases: ${skipped} skipped, ${errors} errors)`);
  process.exit(1);
}
console.log(`${file}: ${replayed} scenario(s) replayed (${failures} mismatch), ${skipped} skipped, ${errors} errors`);
