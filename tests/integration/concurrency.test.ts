/**
 * Many runs at once: 20 small runs (each its own seed, so its own config, run id and result) on two GPU
 * worker processes all complete with their own results; the same run triggered twice starts once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { triggerRun } from '../../shared/temporal/runs.ts';
import type { SliceOutcome } from '../../workflows/types.ts';
import { resultsOf } from './history.ts';
import {
  connectClient,
  inProcessWorkers,
  isolatedPipeline,
  spawnWorker,
  tempStore,
  tinyRequest,
} from './pipeline-harness.ts';

/** A run of a few seconds: one expert of 2 epochs, 2 iterations, one network of 2 epochs. */
const MINIMAL = [
  'dataset.maxTrainPerClass=10',
  'experts.count=1',
  'experts.epochs=2',
  'distill.iterations=1',
  'evaluate.epochs=2',
];

let client: Client;
const children: ChildProcess[] = [];
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await client.connection.close();
});

describe('concurrent runs', () => {
  it('20 runs started at once on two GPU workers each complete with their own result', async () => {
    const store = tempStore();
    const pipeline = isolatedPipeline('twenty');
    const reqs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        tinyRequest(store, [...MINIMAL, `distill.seed=${i}`, `experts.seed=${i}`], pipeline),
      ),
    );
    expect(new Set(reqs.map((r) => r.runId)).size).toBe(20);
    for (let w = 0; w < 2; w++)
      children.push(
        spawnWorker('gpu', {
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          HOPTM_TASK_QUEUE: pipeline.taskQueues.gpu,
        }),
      );
    const cpu = await inProcessWorkers({ roles: ['cpu'], pipeline });
    const summaries = await cpu.runUntil(
      Promise.all(reqs.map(async (r) => (await triggerRun(client, r)).handle.result())),
    );
    const sets = new Set<string>();
    summaries.forEach((s, i) => {
      expect(s.runId).toBe(reqs[i]!.runId);
      const manifest = JSON.parse(readFileSync(join(store, s.manifestKey), 'utf8'));
      expect(manifest.lineage.configHash).toBe(reqs[i]!.configHash);
      expect(manifest.lineage.config.distill.seed).toBe(i);
      sets.add(readFileSync(join(store, s.runId, 'results/main/synthetic.safetensors')).toString('base64'));
    });
    expect(sets.size).toBe(20);
  });

  it('the same run triggered twice starts once and the second trigger attaches to it', async () => {
    const store = tempStore();
    const pipeline = isolatedPipeline('twice');
    const req = await tinyRequest(store, MINIMAL, pipeline);
    const first = await triggerRun(client, req);
    const second = await triggerRun(client, req);
    expect([first.outcome, second.outcome]).toEqual(['started', 'attached']);
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil(first.handle.result());
    const third = await triggerRun(client, req);
    expect(third.outcome).toBe('finished');
    const runs: string[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${req.runId}'` }))
      runs.push(wf.runId);
    expect(runs).toHaveLength(1);
    expect(await resultsOf<SliceOutcome>(client.workflow.getHandle(req.runId), 'distillSlice')).toHaveLength(
      1,
    );
  });
});
