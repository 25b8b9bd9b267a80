/** `hoptm worker`: the pipeline's workers in this process, until Ctrl-C or SIGTERM (then they drain). */
import { defineCommand } from 'citty';
import { initBackend, parseBackendChoice } from '../../shared/engine/backends/index.ts';
import { pipelineSchema } from '../../shared/config/pipeline.ts';
import { startLocalWorkers } from '../../workers/local.ts';
import { log } from '../context.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';

export default defineCommand({
  meta: {
    name: 'worker',
    description:
      'Run pipeline workers here (both roles by default); deployments use workers/cpu-worker.ts and gpu-worker.ts',
  },
  args: {
    role: { type: 'string', description: 'cpu, gpu or both', default: 'both', valueHint: 'cpu|gpu|both' },
    backend: { type: 'string', description: 'Maths backend for the gpu role', default: 'auto' },
    out: { type: 'string', description: 'Runs folder of the local dev server', default: 'runs' },
  },
  async run({ args }) {
    const roles: ('cpu' | 'gpu')[] | null =
      args.role === 'both' ? ['cpu', 'gpu'] : args.role === 'cpu' || args.role === 'gpu' ? [args.role] : null;
    if (roles === null) throw new Error(`--role ${args.role}: expected cpu, gpu or both`);
    const t = await connectTemporal({ runsDir: runsDirOf(args.out) });
    if (roles.includes('gpu')) await initBackend(parseBackendChoice(args.backend), log);
    const workers = await startLocalWorkers({
      address: t.address,
      namespace: t.namespace,
      taskQueues: pipelineSchema.parse({}).taskQueues,
      roles,
      gcsEndpoint: process.env.HOPTM_GCS_ENDPOINT,
    });
    log(`worker: ${roles.join(' + ')} polling; Ctrl-C to stop (running steps checkpoint first)`);
    const stop = (): void => void workers.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await workers.done;
    await t.close();
  },
});
