/**
 * Both workers inside one process, for the local pipeline (`hoptm run` on the embedded dev server, `hoptm
 * worker`): the same workers as the deployment's, sharing one connection. The backend must already be
 * selected (the entry point does it once).
 */
import { NativeConnection } from '@temporalio/worker';
import type { PipelineOptions } from '../shared/config/pipeline.ts';
import { codeVersion } from '../shared/temporal/code-version.ts';
import { createPipelineWorker, quietRuntime, type PipelineWorker } from './pipeline-worker.ts';

export interface LocalWorkers {
  workers: PipelineWorker[];
  /** Resolves when every worker has stopped (after `stop`, or on a fatal worker error). */
  done: Promise<void>;
  /** Drains (running activities checkpoint) and waits for the workers to stop. */
  stop(): Promise<void>;
}

export async function startLocalWorkers(opts: {
  address: string;
  namespace: string;
  taskQueues: PipelineOptions['taskQueues'];
  roles?: ('cpu' | 'gpu')[];
  gcsEndpoint?: string;
  checkpointIntervalSeconds?: number;
}): Promise<LocalWorkers> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: opts.address });
  const version = codeVersion(process.env.HOPTM_CODE_VERSION);
  const workers = await Promise.all(
    (opts.roles ?? ['cpu', 'gpu']).map((role) =>
      createPipelineWorker({
        role,
        connection,
        namespace: opts.namespace,
        taskQueue: opts.taskQueues[role],
        maxConcurrentActivities: 1,
        checkpointIntervalSeconds: opts.checkpointIntervalSeconds ?? 300,
        progressIntervalSeconds: 1,
        shutdownGraceSeconds: 25,
        codeVersion: version,
        gcsEndpoint: opts.gcsEndpoint,
      }),
    ),
  );
  const done = Promise.all(workers.map((w) => w.worker.run())).then(() => connection.close());
  return {
    workers,
    done,
    async stop() {
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.drain();
      await done;
    },
  };
}
