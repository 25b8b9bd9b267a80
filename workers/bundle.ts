/**
 * The workflow bundle: the code of workflows/ packed for Temporal's deterministic sandbox. Built once per
 * process (or at image build, scripts/bundle-workflows.ts) and handed to every worker that runs workflows.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

export const WORKFLOWS_ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

let pending: Promise<WorkflowBundle> | null = null;

/**
 * The bundle from `prebuilt` (a file scripts/bundle-workflows.ts wrote at image build: HOPTM_WORKFLOW_BUNDLE)
 * or built now from workflows/ (about 2 s), once per process.
 */
export function workflowBundle(prebuilt?: string): Promise<WorkflowBundle> {
  if (prebuilt !== undefined) return Promise.resolve({ code: readFileSync(prebuilt, 'utf8') });
  pending ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_ENTRY,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  }).then(({ code }) => ({ code }));
  return pending;
}
