import { defineCommand } from 'citty';
import { runArgs } from '../args.ts';
import { createContext, log } from '../context.ts';
import { progressBar } from '../progress.ts';
import { trainExperts } from '../../shared/method/pipeline/experts.ts';
import { expertLastEpoch } from '../../shared/method/experts/train-expert.ts';

export default defineCommand({
  meta: {
    name: 'experts',
    description: 'Train the expert trajectories (SGD + GSAM, DSA), resuming any that were interrupted',
  },
  args: runArgs,
  async run({ args, rawArgs }) {
    const ctx = await createContext(args, rawArgs);
    await runExperts(ctx);
  },
});

export async function runExperts(ctx: Awaited<ReturnType<typeof createContext>>): Promise<void> {
  const { config } = ctx;
  const epochs = expertLastEpoch(config);
  const bar = progressBar('experts', config.experts.count * epochs);
  let done = 0;
  const results = await trainExperts(config, ctx.data, ctx.store, ctx.runId, {
    expertHooks: (k) => ({
      onEpoch: (e, info) => {
        done = k * epochs + e;
        bar.update(done, `expert ${k} epoch ${e}/${epochs} (${info.seconds.toFixed(1)} s)`);
      },
    }),
  });
  bar.done();
  const resumed = results.filter((r) => r.resumedFrom !== null).length;
  const skipped = results.filter((r) => r.alreadyComplete).length;
  log(
    `experts: ${results.length} complete (${skipped} already done, ${resumed} resumed), epochs 0..${epochs} stored`,
  );
}
