/**
 * A worker process (cpu-worker.ts and gpu-worker.ts are its two entry points): parse the environment once,
 * select the engine backend once (GPU role), connect, run until SIGTERM or SIGINT, then drain: running
 * activities checkpoint within HOPTM_SHUTDOWN_GRACE_SECONDS and the process exits.
 */
import { NativeConnection } from '@temporalio/worker';
import { parseWorkerEnv, workerRole, type WorkerEnv } from '../shared/config/worker-env.ts';
import { initBackend } from '../shared/engine/backends/index.ts';
import { codeVersion } from '../shared/temporal/code-version.ts';
import { connectionSettings } from '../shared/temporal/connection.ts';
import { ensureLocalServer } from '../shared/temporal/local-server.ts';
import { keepHealthFile } from './health.ts';
import { inClusterMarker } from './pod-marker.ts';
import { createPipelineWorker, quietRuntime } from './pipeline-worker.ts';

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

export async function runWorkerProcess(
  role: 'cpu' | 'gpu',
  rawEnv: Record<string, string | undefined> = process.env,
): Promise<void> {
  const env: WorkerEnv = parseWorkerEnv({ HOPTM_ROLE: role, ...rawEnv });
  if (workerRole(env) !== role)
    throw new Error(
      `a ${role} worker cannot serve HOPTM_ROLE=${env.HOPTM_ROLE} (task queue ${env.HOPTM_TASK_QUEUE})`,
    );
  quietRuntime();
  if (role === 'gpu') await initBackend(env.HOPTM_BACKEND, log);
  const address = env.TEMPORAL_ADDRESS ?? (await ensureLocalServer(localRunsDir(env))).address;
  const connection = await NativeConnection.connect(connectionSettings(address, env));
  const stopHealth = keepHealthFile(env.HOPTM_HEALTH_FILE);
  const pw = await createPipelineWorker({
    role,
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.HOPTM_TASK_QUEUE,
    maxConcurrentActivities: env.HOPTM_MAX_CONCURRENT_ACTIVITIES,
    checkpointIntervalSeconds: env.HOPTM_CHECKPOINT_INTERVAL_SECONDS,
    progressIntervalSeconds: env.HOPTM_PROGRESS_INTERVAL_SECONDS,
    shutdownGraceSeconds: env.HOPTM_SHUTDOWN_GRACE_SECONDS,
    codeVersion: codeVersion(env.HOPTM_CODE_VERSION),
    gcsEndpoint: env.HOPTM_GCS_ENDPOINT,
    marker: role === 'gpu' ? inClusterMarker(env, log) : null,
    bundlePath: env.HOPTM_WORKFLOW_BUNDLE,
  });
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      log(`${role} worker: ${sig}, draining (grace ${env.HOPTM_SHUTDOWN_GRACE_SECONDS} s)`);
      pw.drain();
    });
  }
  log(`${role} worker: polling ${env.HOPTM_TASK_QUEUE} on ${address} (namespace ${env.TEMPORAL_NAMESPACE})`);
  try {
    await pw.worker.run();
  } finally {
    stopHealth();
    await connection.close();
  }
  log(`${role} worker: stopped`);
}

/** Where a worker without TEMPORAL_ADDRESS finds the local dev server: beside a local artifact store. */
function localRunsDir(env: WorkerEnv): string {
  const url = env.HOPTM_STORAGE_URL;
  return url && !url.includes('://') ? url : 'runs';
}

/** Entry-point wrapper: one clear line on failure (the stack with HOPTM_DEBUG=1), non-zero exit. */
export function main(role: 'cpu' | 'gpu'): void {
  runWorkerProcess(role).then(
    () => process.exit(0),
    (err: unknown) => {
      log(
        process.env.HOPTM_DEBUG
          ? String((err as Error).stack ?? err)
          : `error: ${(err as Error).message ?? err}`,
      );
      process.exit(1);
    },
  );
}
