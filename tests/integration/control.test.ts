/**
 * Steering a run: pause holds it before its next step and resume lets it go on; cancel stops it and marks it
 * cancelled; a long distillation continues as new (a fresh history) and still completes; runs are
 * listable by their search attributes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { HOPTM_STATE } from '../../shared/temporal/search-attributes.ts';
import { cancelRun, pauseRun, resumeRun, runStatus, triggerRun } from '../../shared/temporal/runs.ts';
import {
  connectClient,
  inProcessWorkers,
  isolatedPipeline,
  tempStore,
  tinyRequest,
} from './pipeline-harness.ts';

let client: Client;
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await client.connection.close();
});

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 200));
}

describe('pause, resume, cancel', () => {
  it('pause holds the run before its next step; resume completes it', async () => {
    const pipeline = isolatedPipeline('pause', { sliceIterations: 2 });
    const req = await tinyRequest(tempStore(), [], pipeline);
    const { handle } = await triggerRun(client, req);
    await pauseRun(client, req.runId);
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil(
      (async () => {
        // Paused before validation: the workers have nothing to do.
        await new Promise((r) => setTimeout(r, 3000));
        const held = await runStatus(client, req.runId);
        expect(held.progress).toMatchObject({ paused: true, phase: 'validating', experts: { done: 0 } });
        const listed = await handle.describe();
        expect(listed.typedSearchAttributes.get(HOPTM_STATE)).toBe('paused');
        await resumeRun(client, req.runId);
        await handle.result();
      })(),
    );
    expect((await runStatus(client, req.runId)).status).toBe('COMPLETED');
  });

  it('cancel stops a running run and marks it cancelled', async () => {
    const pipeline = isolatedPipeline('cancel-run');
    const req = await tinyRequest(tempStore(), ['distill.iterations=200'], pipeline);
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil(
      (async () => {
        const { handle } = await triggerRun(client, req);
        await waitFor(async () => ((await runStatus(client, req.runId)).progress?.distill.done ?? 0) > 0);
        await cancelRun(client, req.runId);
        await handle.result().catch(() => undefined);
      })(),
    );
    const s = await runStatus(client, req.runId);
    expect(s.status).toBe('CANCELLED');
    expect(
      (await client.workflow.getHandle(req.runId).describe()).typedSearchAttributes.get(HOPTM_STATE),
    ).toBe('cancelled');
  });

  it('continues as new every slice and completes with the full progress carried over', async () => {
    const pipeline = isolatedPipeline('can', { slicesPerHistory: 1 });
    const req = await tinyRequest(tempStore(), [], pipeline);
    const workers = await inProcessWorkers({ pipeline });
    const summary = await workers.runUntil((await triggerRun(client, req)).handle.result());
    expect(summary.progress.distill.done).toBe(req.config.distill.iterations + 1);
    expect(summary.progress.experts.done).toBe(2);
    const executions: string[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${req.runId}'` }))
      executions.push(wf.runId);
    expect(executions.length).toBe(2);
  });
});
