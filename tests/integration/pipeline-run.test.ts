import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { triggerRun, runStatus } from '../../shared/temporal/runs.ts';
import { connectClient, inProcessWorkers, isolatedPipeline, tempStore, tinyRequest } from './pipeline-harness.ts';

let client: Client;
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await client.connection.close();
});

describe('distillationRun on local storage', () => {
  it('runs experts, slices, evaluation and publishes a manifest with lineage', async () => {
    const store = tempStore();
    const pipeline = isolatedPipeline('e2e');
    const req = await tinyRequest(store, [], pipeline);
    const workers = await inProcessWorkers({ pipeline });
    const summary = await workers.runUntil(
      (async () => {
        const t = await triggerRun(client, req);
        expect(t.outcome).toBe('started');
        return await t.handle.result();
      })(),
    );
    expect(summary.runId).toBe(req.runId);
    const manifest = JSON.parse(readFileSync(join(store, summary.manifestKey), 'utf8'));
    expect(manifest.lineage.dataset.contentHash).toBe(req.datasetHash);
    expect(manifest.lineage.configHash).toBe(req.configHash);
    expect(manifest.lineage.experts.map((e: { expert: number }) => e.expert)).toEqual([0, 1]);
    expect(manifest.outputs).toContain(`${req.runId}/results/main/synthetic.safetensors`);
    expect(summary.evaluation.synthetic.mean).toBeGreaterThan(0);
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('COMPLETED');
    const progress = status.progress!;
    expect(progress.phase).toBe('completed');
    expect(progress.distill.done).toBe(req.config.distill.iterations + 1);
    expect(progress.experts).toEqual({ done: 2, total: 2 });
  });
});
