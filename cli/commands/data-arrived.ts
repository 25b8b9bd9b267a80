/** `hoptm data-arrived`: the schedule's data check, now: a run starts only if the content is new. */
import { defineCommand } from 'citty';
import { initBackend, parseBackendChoice } from '../../shared/engine/backends/index.ts';
import { pipelineSchema } from '../../shared/config/pipeline.ts';
import { checkData } from '../../shared/temporal/runs.ts';
import { startLocalWorkers } from '../../workers/local.ts';
import { runArgs } from '../args.ts';
import { log } from '../context.ts';
import { followRun } from '../follow.ts';
import { intentFromArgs } from '../intent.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';

export default defineCommand({
  meta: { name: 'data-arrived', description: 'Re-hash the data now and start a run if its content is new' },
  args: {
    ...runArgs,
    follow: { type: 'boolean', description: 'Follow a started run to its end', default: true },
  },
  async run({ args, rawArgs }) {
    const intent = intentFromArgs(args, rawArgs);
    const t = await connectTemporal({ runsDir: runsDirOf(args.out) });
    const workers = t.local
      ? await (async () => {
          await initBackend(parseBackendChoice(args.backend), log);
          return await startLocalWorkers({
            address: t.address,
            namespace: t.namespace,
            taskQueues: pipelineSchema.parse({}).taskQueues,
          });
        })()
      : null;
    try {
      const r = await checkData(t.client, intent);
      log(`data check: ${r.action} - ${r.reason}`);
      if (r.action === 'started' && (args.follow || workers)) await followRun(t.client, r.runId);
    } finally {
      await workers?.stop();
      await t.close();
    }
  },
});
