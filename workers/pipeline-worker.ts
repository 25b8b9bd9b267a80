/**
 * Builds the pipeline's workers. A `cpu` worker runs the workflows and the light activities; a `gpu`
 * worker runs the heavy activities, at most `maxConcurrentActivities` at a time (one per accelerator). Both
 * register every activity: the task queue decides which ones reach them. `drain()` is the SIGTERM path:
 * heavy activities checkpoint at their next iteration and stop, then the worker shuts down.
 */
import { NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { openStore } from '../shared/storage/index.ts';
import { workflowBundle } from './bundle.ts';
import type { PodMarker } from './pod-marker.ts';

export interface PipelineWorkerOptions {
  role: 'cpu' | 'gpu';
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  maxConcurrentActivities: number;
  checkpointIntervalSeconds: number;
  progressIntervalSeconds: number;
  shutdownGraceSeconds: number;
  codeVersion: string;
  gcsEndpoint?: string;
  bundle?: WorkflowBundle;
  /** A workflow bundle file built at image build (HOPTM_WORKFLOW_BUNDLE), instead of bundling at start. */
  bundlePath?: string;
  /** Marks the pod busy while an activity runs (GPU workers in the cluster). */
  marker?: PodMarker | null;
}

export interface PipelineWorker {
  worker: Worker;
  /** Starts draining: heavy activities checkpoint and stop, the worker stops polling and shuts down. */
  drain(): void;
}

let runtimeInstalled = false;

/**
 * Temporal's own logs (the SDK's and its native core's) go to stderr at ERROR only: their INFO and WARN
 * lines (a GPU worker with no workflows, a workflow task slowed by tensor work sharing the process) are not
 * for users. Must run before the first connection of the process; a later call does nothing.
 */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const write = (message: string, meta?: Record<string, unknown>): void =>
    void process.stderr.write(`temporal: ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}\n`);
  Runtime.install({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: write },
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
}

export async function createPipelineWorker(opts: PipelineWorkerOptions): Promise<PipelineWorker> {
  const drainer = new AbortController();
  const activities = createActivities({
    openStore: (url) => openStore(url, { gcsEndpoint: opts.gcsEndpoint }),
    drain: drainer.signal,
    checkpointIntervalSeconds: opts.checkpointIntervalSeconds,
    progressIntervalSeconds: opts.progressIntervalSeconds,
    codeVersion: opts.codeVersion,
  });
  const marker = opts.marker;
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: marker
      ? Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, marker.wrap(fn as never)]))
      : activities,
    ...(opts.role === 'cpu'
      ? { workflowBundle: opts.bundle ?? (await workflowBundle(opts.bundlePath)) }
      : { maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities }),
    shutdownGraceTime: `${opts.shutdownGraceSeconds}s`,
  });
  return {
    worker,
    drain() {
      drainer.abort(new Error('worker draining'));
      worker.shutdown();
    },
  };
}
