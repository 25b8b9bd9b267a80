/**
 * Preemption, for real: a GPU worker process is SIGKILLed in the middle of an expert and of a distillation
 * slice, or SIGTERMed (spot preemption's notice) mid-slice; a new worker process takes over. The run must
 * complete, the retried attempt must start from the newest checkpoint (its heartbeat and storage agree,
 * and it is not zero), and the published set must be byte-identical to an uninterrupted run's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { completeKey, snapshotKey } from '../../shared/method/experts/keys.ts';
import { triggerRun } from '../../shared/temporal/runs.ts';
import type { ExpertOutcome, RunRequest, SliceOutcome } from '../../workflows/types.ts';
import { pendingHeartbeats, resultsOf } from './history.ts';
import {
  connectClient,
  inProcessWorkers,
  isolatedPipeline,
  spawnWorker,
  tempStore,
  tinyRequest,
} from './pipeline-harness.ts';

/** Long enough to be interrupted: experts of 4 stored epochs of 20 steps, 30 iterations in two slices. */
const LONGER = [
  'dataset.maxTrainPerClass=60',
  'experts.batchSize=32',
  'experts.epochs=4',
  'distill.maxStartEpoch=4',
  'distill.iterations=29',
  'distill.checkpointEvery=5',
  'distill.mask.growEvery=15',
];

const SET = 'results/main/synthetic.safetensors';
let client: Client;
let reference: Buffer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  client = await connectClient();
  const store = tempStore();
  const pipeline = isolatedPipeline('reference');
  const req = await tinyRequest(store, LONGER, pipeline);
  const workers = await inProcessWorkers({ pipeline });
  await workers.runUntil((await triggerRun(client, req)).handle.result());
  reference = readFileSync(join(store, req.runId, SET));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await client.connection.close();
});

function gpuWorker(req: RunRequest): ChildProcess {
  const child = spawnWorker('gpu', {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    HOPTM_TASK_QUEUE: req.pipeline.taskQueues.gpu,
    HOPTM_SHUTDOWN_GRACE_SECONDS: '20',
  });
  children.push(child);
  return child;
}

async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 600_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((ok) => c.once('exit', (code) => ok(code)));

const latestIteration = (store: string, req: RunRequest): number => {
  const f = join(store, req.runId, 'distill/main/checkpoint/latest.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { iteration: number }).iteration : 0;
};

/** Waits until the server holds a heartbeat from the running attempt that satisfies `cond`. */
async function heartbeatSeen(
  req: RunRequest,
  cond: (details: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const handle = client.workflow.getHandle(req.runId);
  let seen: Record<string, unknown> | undefined;
  await until('a heartbeat with the checkpoint', async () => {
    seen = (await pendingHeartbeats(handle))
      .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
      .find(cond);
    return seen !== undefined;
  });
  return seen!;
}

const storedEpochs = (store: string, req: RunRequest, expert: number): number => {
  let e = 0;
  while (existsSync(join(store, snapshotKey(req.runId, expert, e + 1)))) e++;
  return e;
};

/** Runs `req` with an in-process cpu worker and gpu worker processes; `interrupt` acts on the first one. */
async function runInterrupted(
  store: string,
  req: RunRequest,
  interrupt: (gpu: ChildProcess) => Promise<void>,
): Promise<void> {
  const cpu = await inProcessWorkers({ roles: ['cpu'], pipeline: req.pipeline });
  await cpu.runUntil(
    (async () => {
      const { handle } = await triggerRun(client, req);
      await interrupt(gpuWorker(req));
      gpuWorker(req);
      await handle.result();
    })(),
  );
  expect(Buffer.compare(readFileSync(join(store, req.runId, SET)), reference)).toBe(0);
}

describe('a GPU worker killed mid-run', () => {
  it('SIGKILL in the middle of an expert: the retry resumes after the stored epoch', async () => {
    const store = tempStore();
    const req = await tinyRequest(store, LONGER, isolatedPipeline('kill-expert'));
    let stored = 0;
    let expert = -1;
    await runInterrupted(store, req, async (gpu) => {
      // Kill once the server holds a heartbeat naming a stored epoch before the last (heartbeats are throttled).
      const beat = await heartbeatSeen(req, (d) => Number(d.epoch) >= 1 && Number(d.epoch) < 4);
      expert = Number(beat.expert);
      expect(existsSync(join(store, completeKey(req.runId, expert)))).toBe(false);
      gpu.kill('SIGKILL');
      await exited(gpu);
      stored = storedEpochs(store, req, expert);
    });
    const experts = await resultsOf<ExpertOutcome>(client.workflow.getHandle(req.runId), 'trainExpert');
    const retried = experts.find((e) => e.expert === expert)!;
    expect(retried.attempt).toBeGreaterThan(1);
    // It resumed from the newest epoch in storage, which the heartbeat it was handed named (or preceded).
    expect(retried.resumedFrom).toBe(stored);
    const beat = retried.previousHeartbeat as { expert: number; epoch: number; snapshotKey: string };
    expect(beat).toMatchObject({ expert, snapshotKey: snapshotKey(req.runId, expert, beat.epoch) });
    expect(beat.epoch).toBeGreaterThanOrEqual(1);
    expect(retried.resumedFrom).toBeGreaterThanOrEqual(beat.epoch);
  });

  it('SIGKILL in the middle of a distillation slice: the retry resumes from the newest checkpoint', async () => {
    const store = tempStore();
    const req = await tinyRequest(store, LONGER, isolatedPipeline('kill-slice'));
    let stored = 0;
    await runInterrupted(store, req, async (gpu) => {
      await heartbeatSeen(req, (d) => Number(d.iteration) >= 5 && d.checkpointKey !== null);
      gpu.kill('SIGKILL');
      await exited(gpu);
      stored = latestIteration(store, req);
    });
    const slices = await resultsOf<SliceOutcome>(client.workflow.getHandle(req.runId), 'distillSlice');
    const retried = slices.find((s) => s.attempt > 1)!;
    expect(retried).toBeDefined();
    expect(retried.resumedFrom).toBe(stored);
    const beat = retried.previousHeartbeat as { iteration: number; checkpointKey: string };
    expect(beat.iteration).toBeGreaterThanOrEqual(5);
    expect(beat.checkpointKey).toMatch(new RegExp(`checkpoint/0*${beat.iteration}\\.ckpt$`));
    expect(retried.resumedFrom).toBeGreaterThanOrEqual(beat.iteration);
  });

  it('SIGTERM: the worker checkpoints within its grace period and exits; the next worker continues', async () => {
    const store = tempStore();
    const req = await tinyRequest(store, LONGER, isolatedPipeline('sigterm'));
    let atTerm = 0;
    await runInterrupted(store, req, async (gpu) => {
      await until('distillation under way', () => latestIteration(store, req) >= 5);
      atTerm = latestIteration(store, req);
      gpu.kill('SIGTERM');
      // The worker drains and exits by itself (its grace period is 20 s; the process is not killed).
      expect(await exited(gpu)).toBe(0);
    });
    const slices = await resultsOf<SliceOutcome>(client.workflow.getHandle(req.runId), 'distillSlice');
    const retried = slices.find((s) => s.attempt > 1)!;
    // The draining attempt wrote a checkpoint after the signal and said so in its last heartbeat.
    expect(retried.resumedFrom).toBeGreaterThan(atTerm);
    expect(retried.previousHeartbeat).toMatchObject({ iteration: retried.resumedFrom });
  });
});
