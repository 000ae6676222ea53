// docs/model.md lists the model's checks as the code declares them (id, stage, component, versions, source).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Check } from '../sim/check.js';
import { CREATE_PIPELINE, EPHEMERAL_PIPELINE } from '../sim/simulate.js';
import { formatRange } from '../sim/version.js';
import { ROOT } from './helpers-cli.js';

const MODEL_DOC = readFileSync(join(ROOT, 'docs', 'model.md'), 'utf8');
const row = (c: Check) => `| \`${c.id}\` | ${c.stage} | ${c.component} ${formatRange(c.versions)} | ${c.source.replace(/\|/g, '\\|')} |`;
const HEADER = '| Check | Stage | Component and versions | Upstream source |\n| --- | --- | --- | --- |\n';

describe('docs/model.md', () => {
  it.each([
    ['pod creation', CREATE_PIPELINE],
    ['ephemeral containers', EPHEMERAL_PIPELINE],
  ])('lists the %s checks in pipeline order', (_name, pipeline) => {
    expect(MODEL_DOC).toContain(`${HEADER}${pipeline.map(row).join('\n')}\n\n`);
  });
});
