/**
 * Run identity: one workflow id per (config, dataset content), so triggering the same run twice attaches to
 * it instead of starting a duplicate, and new data gives a new run. Pure string code (workflow-safe); the
 * hashes themselves are computed outside the sandbox (shared/temporal/hashing.ts).
 */

/** `hoptm-<config hash 12>-<dataset hash 12>`: a valid artifact key segment and a readable workflow id. */
export function runWorkflowId(configHash: string, datasetHash: string): string {
  for (const [what, hash] of [
    ['config hash', configHash],
    ['dataset hash', datasetHash],
  ] as const) {
    if (!/^[0-9a-f]{12,}$/.test(hash))
      throw new Error(`runWorkflowId: expected a hex ${what} of at least 12 digits, got '${hash}'`);
  }
  return `hoptm-${configHash.slice(0, 12)}-${datasetHash.slice(0, 12)}`;
}

/** The id of the data-check workflow a schedule (or `hoptm data-arrived`) runs for one config. */
export function dataCheckWorkflowId(configHash: string): string {
  return `hoptm-check-${configHash.slice(0, 12)}`;
}
