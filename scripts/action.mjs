#!/usr/bin/env node
// The logic of the GitHub Action (action.yml): runs `apparmor-sim dry-run --output sarif` on the given paths, writes the
// SARIF file, annotates the findings on the run (workflow commands), writes a job summary and the step outputs, and
// says whether the run should fail (output `failed`; action.yml fails after the SARIF upload, so that the findings are
// uploaded either way). Inputs come from environment variables (action.yml maps its inputs to them), so the script
// runs the same outside GitHub: `APPARMOR_SIM_PATHS=manifests node scripts/action.mjs`.
//
// Exit codes: 0 the dry run ran (whatever it found); 2 an input error (bad flag, file, config); 3 anything else.
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const env = process.env;
const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
const BIN = env.APPARMOR_SIM_BIN || join(SCRIPT_DIR, '..', 'bin', 'apparmor-sim.js');
const FAIL_ON = ['error', 'warning', 'none'];

/** A list input: one item per line, or separated by spaces when given on one line. */
function list(value) {
  const text = (value ?? '').trim();
  if (text === '') return [];
  return (text.includes('\n') ? text.split('\n') : text.split(/\s+/)).map((item) => item.trim()).filter((item) => item !== '');
}

/** GitHub workflow command escaping (data and properties differ). */
function escapeData(text) {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(text) {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function setOutput(name, value) {
  if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `${name}=${value}\n`);
}

function fail(code, message) {
  process.stdout.write(`::error title=apparmor-sim::${escapeData(message)}\n`);
  setOutput('failed', 'true');
  process.exit(code);
}

const paths = list(env.APPARMOR_SIM_PATHS);
const failOn = (env.APPARMOR_SIM_FAIL_ON || 'error').trim();
if (!FAIL_ON.includes(failOn)) fail(2, `fail-on: unknown value ${JSON.stringify(failOn)} (expected one of: ${FAIL_ON.join(', ')})`);
const sarifFile = resolve(env.APPARMOR_SIM_SARIF_FILE || 'apparmor-sim.sarif');

const args = ['dry-run', ...paths, '--output', 'sarif'];
const single = { APPARMOR_SIM_K8S_VERSION: '--k8s-version', APPARMOR_SIM_KUBELET_VERSION: '--kubelet-version', APPARMOR_SIM_NODE: '--node', APPARMOR_SIM_CLUSTER: '--cluster', APPARMOR_SIM_CONFIG: '--config', APPARMOR_SIM_RUNTIME: '--runtime', APPARMOR_SIM_NAMESPACE_LABELS: '--namespace-labels', APPARMOR_SIM_FEATURE_GATES: '--feature-gates' };
for (const [variable, flag] of Object.entries(single)) {
  const value = (env[variable] ?? '').trim();
  if (value !== '') args.push(flag, value);
}
for (const profiles of list(env.APPARMOR_SIM_PROFILES)) args.push('--profiles', profiles);

process.stdout.write(`apparmor-sim ${args.join(' ')}\n`);
const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024, env: { ...env, NO_COLOR: '1' } });
if (run.error) fail(3, `cannot run ${BIN}: ${run.error.message}`);
// Warnings (expired suppressions, node notes) and errors are on stderr.
for (const line of run.stderr.split('\n').filter((l) => l !== '')) {
  if (run.status === 2) {
    // `file:line[:col]: message` becomes an annotation on that line.
    const match = /^(.+?):(\d+)(?::(\d+))?: (.*)$/.exec(line);
    if (match && match[1] !== 'apparmor-sim') process.stdout.write(`::error file=${escapeProperty(match[1])},line=${match[2]}${match[3] ? `,col=${match[3]}` : ''},title=apparmor-sim::${escapeData(match[4])}\n`);
    else process.stdout.write(`::error title=apparmor-sim::${escapeData(line)}\n`);
  } else {
    process.stdout.write(`::warning title=apparmor-sim::${escapeData(line.replace(/^apparmor-sim: (warning: )?/, ''))}\n`);
  }
}
if (run.status === 2) fail(2, 'apparmor-sim: input error (see the messages above)');
if (run.status !== 0 && run.status !== 1) fail(3, `apparmor-sim exited with ${run.status ?? run.signal}`);

let sarif;
try {
  sarif = JSON.parse(run.stdout);
} catch (error) {
  fail(3, `apparmor-sim wrote output that is not SARIF: ${error instanceof Error ? error.message : String(error)}`);
}
writeFileSync(sarifFile, run.stdout);

const results = sarif.runs?.[0]?.results ?? [];
const counted = { error: 0, warning: 0, suppressed: 0 };
const rows = [];
for (const result of results) {
  const location = result.locations?.[0]?.physicalLocation;
  const file = decodeURI(location?.artifactLocation?.uri ?? '').replace(/^file:\/\//, '');
  const line = location?.region?.startLine ?? 1;
  const pod = result.locations?.[0]?.logicalLocations?.[0]?.name ?? '';
  const versions = result.properties?.k8sVersionRanges ?? '';
  if (result.suppressions?.length) {
    counted.suppressed++;
    rows.push([`${file}:${line}`, pod, result.ruleId, versions, `suppressed: ${result.suppressions[0].justification}`]);
    continue;
  }
  const level = result.level === 'warning' ? 'warning' : 'error';
  counted[level]++;
  rows.push([`${file}:${line}`, pod, result.ruleId, versions, result.message.text]);
  process.stdout.write(`::${level} file=${escapeProperty(file)},line=${line},title=${escapeProperty(`${result.ruleId} ${pod}`)}::${escapeData(result.message.text)}\n`);
}

const failed = failOn === 'error' ? counted.error > 0 : failOn === 'warning' ? counted.error + counted.warning > 0 : false;
setOutput('sarif-file', sarifFile);
setOutput('errors', String(counted.error));
setOutput('warnings', String(counted.warning));
setOutput('suppressed', String(counted.suppressed));
setOutput('failed', String(failed));

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const summary = [
  '## apparmor-sim',
  '',
  `${counted.error} error(s), ${counted.warning} warning(s), ${counted.suppressed} suppressed; fail-on: ${failOn}.`,
  '',
];
if (rows.length > 0) {
  summary.push('| Where | Pod | Rule | Versions | Message |', '| --- | --- | --- | --- | --- |');
  for (const row of rows) summary.push(`| ${row.map(cell).join(' | ')} |`);
}
if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${summary.join('\n')}\n`);
process.stdout.write(`${counted.error} error(s), ${counted.warning} warning(s), ${counted.suppressed} suppressed; SARIF written to ${sarifFile}${failed ? `; failing (fail-on: ${failOn})` : ''}\n`);
