/**
 * The pipeline end to end against the real dev server: a small real-MNIST run on local storage and on GCS
 * (fake-gcs-server) publishes its manifest with lineage; the histories these runs recorded replay
 * deterministically against the current workflow code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { openStore } from '../../shared/storage/index.ts';
import { runStatus, triggerRun } from '../../shared/temporal/runs.ts';
import {
  connectClient,
  inProcessWorkers,
  isolatedPipeline,
  tempStore,
  tinyRequest,
} from './pipeline-harness.ts';

let client: Client;
const recorded: string[] = [];
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await client.connection.close();
});

describe('distillationRun', () => {
  it('on local storage: experts, slices, evaluation, and a manifest with lineage', async () => {
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
    recorded.push(req.runId);
    expect(summary.runId).toBe(req.runId);
    const manifest = JSON.parse(readFileSync(join(store, summary.manifestKey), 'utf8'));
    expect(manifest.lineage.dataset.contentHash).toBe(req.datasetHash);
    expect(manifest.lineage.configHash).toBe(req.configHash);
    expect(manifest.lineage.code).toBe('test');
    expect(manifest.lineage.experts.map((e: { expert: number }) => e.expert)).toEqual([0, 1]);
    expect(manifest.outputs).toContain(`${req.runId}/results/main/synthetic.safetensors`);
    expect(manifest.metrics.synthetic.mean).toBe(summary.evaluation.synthetic.mean);
    // The publish step audited the set and wrote the report the manifest links.
    expect(manifest.report).toBe(`${req.runId}/results/main/report.html`);
    expect(readFileSync(join(store, manifest.report), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(JSON.parse(readFileSync(join(store, manifest.publish), 'utf8')).published).toBe(true);
    expect(manifest.privacy.flagged).toBeTypeOf('number');
    expect(summary.evaluation.synthetic.mean).toBeGreaterThan(0);
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('COMPLETED');
    const progress = status.progress!;
    expect(progress.phase).toBe('completed');
    expect(progress.distill.done).toBe(req.config.distill.iterations + 1);
    // 8 iterations with the mask growing every 4: two easy-to-complex stages, each its own slice.
    expect(progress.distill.stages).toBe(2);
    expect(progress.experts).toEqual({ done: 2, total: 2 });
    expect(Object.keys(progress.timings)).toEqual(
      expect.arrayContaining(['validating', 'experts', 'distilling', 'evaluating', 'publishing']),
    );
  });

  it('on GCS (fake-gcs-server): the same run publishes into the bucket', async () => {
    const endpoint = inject('gcsEndpoint');
    const bucket = `runs-${Math.random().toString(36).slice(2, 8)}`;
    const created = await fetch(`${endpoint}/storage/v1/b?project=test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: bucket }),
    });
    expect(created.ok).toBe(true);
    const url = `gs://${bucket}/pipeline`;
    const pipeline = isolatedPipeline('gcs');
    const req = await tinyRequest(url, [], pipeline);
    const workers = await inProcessWorkers({ pipeline, gcsEndpoint: endpoint });
    const summary = await workers.runUntil((await triggerRun(client, req)).handle.result());
    recorded.push(req.runId);
    const store = await openStore(url, { gcsEndpoint: endpoint });
    const manifest = JSON.parse(new TextDecoder().decode(await store.get(summary.manifestKey)));
    expect(manifest.store).toBe(url);
    expect(manifest.lineage.dataset.contentHash).toBe(req.datasetHash);
    const keys = await store.list(req.runId);
    expect(keys).toContain(`${req.runId}/results/main/synthetic.safetensors`);
    expect(keys.filter((k) => k.endsWith('.ckpt')).length).toBeGreaterThan(0);
  });

  it('the recorded histories replay deterministically', async () => {
    expect(recorded.length).toBeGreaterThan(0);
    for (const runId of recorded) {
      const history = await client.workflow.getHandle(runId).fetchHistory();
      await Worker.runReplayHistory(
        { workflowBundle: { code: inject('workflowBundleCode') } },
        history,
        runId,
      );
    }
  });
});
