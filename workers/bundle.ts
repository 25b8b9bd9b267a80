/**
 * The workflow bundle: the code of workflows/ packed for Temporal's deterministic sandbox. Built once per
 * process (or at image build, scripts/bundle-workflows.ts) and handed to every worker that runs workflows.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

export const WORKFLOWS_ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

let pending: Promise<WorkflowBundle> | null = null;

/** Bundles workflows/ (about 2 s), once per process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  pending ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_ENTRY,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  }).then(({ code }) => ({ code }));
  return pending;
}
