import type { ArtifactStore } from '../storage/store.ts';
import { resultsPrefix } from '../method/pipeline/keys.ts';
import { chartJsBundle } from './chart-library.ts';
import { renderReport } from './html.ts';
import { loadReportInputs } from './load.ts';

export interface RunReportOptions {
  /** The code revision that produced the run (e.g. `git describe --always --dirty`); 'unknown' when not given. */
  codeVersion?: string;
  /** Timestamp printed in the report (ISO 8601); now when not given. */
  generatedAt?: string;
}

export const reportKey = (runId: string, stage: string): string =>
  `${resultsPrefix(runId, stage)}/report.html`;

/**
 * Writes the run report of one stage: a single self-contained HTML file (no server, no network) with the synthetic
 * images per class beside their initial real images, the loss terms, mask utilisation and lr over iterations, the
 * evaluation table with its protocol and baselines, the privacy audit with its plots, the lineage and timings.
 * Reads everything from the stage's results (whatever exists so far) and returns the report's key.
 */
export async function writeRunReport(
  store: ArtifactStore,
  runId: string,
  stage: string,
  opts: RunReportOptions = {},
): Promise<string> {
  const inputs = await loadReportInputs(store, runId, stage);
  const html = renderReport(inputs, {
    codeVersion: opts.codeVersion ?? 'unknown',
    chartJs: await chartJsBundle(),
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
  });
  const key = reportKey(runId, stage);
  await store.put(key, new TextEncoder().encode(html));
  return key;
}
