/**
 * Builds the workflow bundle once (the CPU worker image runs this at build time and sets
 * HOPTM_WORKFLOW_BUNDLE to the file), so a worker starts without bundling.
 *   npx tsx scripts/bundle-workflows.ts dist/workflow-bundle.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { workflowBundle } from '../workers/bundle.ts';

const out = process.argv[2] ?? 'dist/workflow-bundle.js';
const { code } = await workflowBundle();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);
process.stderr.write(`wrote ${out} (${(code.length / 1e6).toFixed(1)} MB)\n`);
