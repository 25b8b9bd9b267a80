/**
 * Re-distillation when data arrives: the data check (what schedules and `hoptm data-arrived` run) skips
 * unchanged data, starts a run for new content, and never overlaps two runs of one config; a schedule
 * triggers the same check. Against the real dev server, with real workers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { checkData, runStatus } from '../../shared/temporal/runs.ts';
import type { PipelineOptions } from '../../shared/config/pipeline.ts';
import type { RunIntent } from '../../shared/temporal/run-request.ts';
import type { DataCheckResult } from '../../workflows/types.ts';
import { writePathmnist } from './dataset-files.ts';
import {
  connectClient,
  inProcessWorkers,
  isolatedPipeline,
  tempStore,
  tinyMedmnistConfig,
} from './pipeline-harness.ts';

let client: Client;
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await client.connection.close();
});

function intentFor(path: string, extra: string[] = []): RunIntent & { pipeline: PipelineOptions } {
  return {
    preset: 'test',
    config: tinyMedmnistConfig(path, extra),
    store: tempStore(),
    pipeline: isolatedPipeline('check'),
  };
}

/** Resolves once the server lists `activity` as in flight for the run; throws if the run ends first. */
async function waitForPendingActivity(runId: string, activity: string): Promise<void> {
  for (;;) {
    const status = await runStatus(client, runId);
    if (status.pending.some((p) => p.activity === activity)) return;
    if (status.status !== 'RUNNING')
      throw new Error(`run ${runId} ended (${status.status}) before ${activity}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('data checks', () => {
  it('data-arrived: runs new content once, skips it unchanged, runs again after the data changes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hoptm-data-')), 'pathmnist.npz');
    writePathmnist(path, 1);
    const intent = intentFor(path);
    const workers = await inProcessWorkers({ pipeline: intent.pipeline });
    const first = await workers.runUntil(
      (async () => {
        const started = await checkData(client, intent);
        expect(started.action).toBe('started');
        await client.workflow.getHandle(started.runId).result();

        const again = await checkData(client, intent);
        expect(again).toMatchObject({ action: 'skipped', runId: started.runId });
        expect(again.reason).toMatch(/data unchanged/);
        return started;
      })(),
    );

    // With no GPU worker the next run holds after validating its data, at its first expert: in progress for
    // as long as the test needs, however fast the engine (a race before: the run could end first).
    const cpuOnly = await inProcessWorkers({ pipeline: intent.pipeline, roles: ['cpu'] });
    const changed = await cpuOnly.runUntil(
      (async () => {
        writePathmnist(path, 2);
        const started = await checkData(client, intent);
        expect(started.action).toBe('started');
        expect(started.runId).not.toBe(first.runId);
        expect(started.datasetHash).not.toBe(first.datasetHash);
        await waitForPendingActivity(started.runId, 'trainExpert');

        // While that run is in progress, new data for the same config does not start a second run...
        writePathmnist(path, 3);
        const overlapping = await checkData(client, intent);
        expect(overlapping.action).toBe('skipped');
        expect(overlapping.reason).toMatch(/still in progress/);
        return started;
      })(),
    );

    const all = await inProcessWorkers({ pipeline: intent.pipeline });
    await all.runUntil(
      (async () => {
        // ...the run in progress stops on the changed data (it never mixes two datasets)...
        await expect(client.workflow.getHandle(changed.runId).result()).rejects.toThrow();
        expect((await runStatus(client, changed.runId)).error).toMatch(/changed under run/);
        // ...and the next check starts the new data's run.
        const next = await checkData(client, intent);
        expect(next.action).toBe('started');
        await client.workflow.getHandle(next.runId).result();
      })(),
    );
  });

  it('a schedule runs the check: it skips unchanged data and starts a run after the data changes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hoptm-data-')), 'pathmnist.npz');
    writePathmnist(path, 5);
    const intent = intentFor(path, ['distill.seed=7']);
    const workers = await inProcessWorkers({ pipeline: intent.pipeline });
    const scheduleId = `test-schedule-${Math.random().toString(36).slice(2, 8)}`;
    const handle = await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1d' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'dataCheck',
        taskQueue: intent.pipeline.taskQueues.cpu,
        args: [intent],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    /** Triggers the schedule now and returns the check's decision. */
    const tick = async (n: number): Promise<DataCheckResult> => {
      await handle.trigger();
      for (;;) {
        const actions = (await handle.describe()).info.recentActions;
        if (actions.length >= n) {
          const id = actions[n - 1]!.action.workflow.workflowId;
          return await client.workflow.getHandle(id).result();
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      await workers.runUntil(
        (async () => {
          const first = await tick(1);
          expect(first.action).toBe('started');
          await client.workflow.getHandle(first.runId).result();
          const second = await tick(2);
          expect(second.action).toBe('skipped');
          writePathmnist(path, 6);
          const third = await tick(3);
          expect(third.action).toBe('started');
          expect(third.runId).not.toBe(first.runId);
          await client.workflow.getHandle(third.runId).result();
        })(),
      );
    } finally {
      await handle.delete();
    }
  });
});
