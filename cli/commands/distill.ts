import { defineCommand } from 'citty';
import { runArgs } from '../args.ts';
import { createContext, log } from '../context.ts';
import { progressBar } from '../progress.ts';
import { distillStage } from '../../shared/method/pipeline/distill.ts';

export default defineCommand({
  meta: {
    name: 'distill',
    description: 'Distil the synthetic set from stored experts (HoP-TM), resuming from the newest checkpoint',
  },
  args: {
    ...runArgs,
    stage: { type: 'string', description: 'Stage name (artifact prefix)', default: 'main' },
  },
  async run({ args, rawArgs }) {
    const ctx = await createContext(args, rawArgs);
    await runDistill(ctx, args.stage);
  },
});

export async function runDistill(
  ctx: Awaited<ReturnType<typeof createContext>>,
  stage: string,
): Promise<void> {
  const total = ctx.config.distill.iterations + 1;
  const bar = progressBar('distill', total);
  const result = await distillStage(ctx.config, ctx.data, ctx.store, ctx.runId, stage, {
    onIteration: (m) =>
      bar.update(
        m.iteration + 1,
        `loss ${m.loss.toFixed(4)} (param ${m.paramLoss.toFixed(4)}, shape ${m.shapeLoss.toFixed(5)}) mask ${(100 * m.utilization).toFixed(1)}% lr ${m.lr.toPrecision(4)} ${(m.ms / 1000).toFixed(2)} s/it`,
      ),
    onEvaluation: (it, acc) => log(`\nevaluation at iteration ${it}: ${(100 * acc).toFixed(2)}%`),
  });
  bar.done();
  log(`distill: published ${result.resultKeys.join(', ')} (metrics: ${result.metricsKey})`);
}
