import { defineCommand } from 'citty';
import { runArgs } from '../args.ts';
import { createContext, log } from '../context.ts';
import { progressBar } from '../progress.ts';
import { evaluateStage, loadPublishedSet } from '../../shared/method/pipeline/evaluate.ts';

export default defineCommand({
  meta: {
    name: 'evaluate',
    description: 'Evaluate a distilled set (fresh networks, learned lr) beside a random real subset',
  },
  args: {
    ...runArgs,
    stage: { type: 'string', description: 'Stage whose published set to evaluate', default: 'main' },
    baseline: {
      type: 'boolean',
      description: 'Also evaluate a random real subset with the same images per class',
      default: true,
    },
  },
  async run({ args, rawArgs }) {
    const ctx = await createContext(args, rawArgs);
    await runEvaluate(ctx, args.stage, args.baseline);
  },
});

export async function runEvaluate(
  ctx: Awaited<ReturnType<typeof createContext>>,
  stage: string,
  baseline: boolean,
): Promise<void> {
  const { evaluate } = ctx.config;
  // The published set, the final iterate when the published one was selected earlier, and the baseline.
  const selected = (await loadPublishedSet(ctx.store, ctx.runId, stage)).kind === 'selected';
  const networks = evaluate.runs * (1 + (selected ? 1 : 0) + (baseline ? 1 : 0));
  const bar = progressBar('evaluate', networks * (evaluate.epochs + 1));
  let finished = 0;
  const result = await evaluateStage(ctx.config, ctx.data, ctx.store, ctx.runId, stage, {
    baseline,
    hooks: {
      onEpoch: (_run, epoch) => bar.update(finished * (evaluate.epochs + 1) + epoch + 1),
      onRun: () => {
        finished += 1;
      },
    },
  });
  bar.done();
  const pct = (r: { mean: number; std: number }): string =>
    `${(100 * r.mean).toFixed(2)} ± ${(100 * r.std).toFixed(2)}%`;
  const sets = result.sets;
  const which =
    sets?.synthetic.kind === 'selected'
      ? `selected on ${sets.synthetic.selection?.split} at iteration ${sets.synthetic.iteration}`
      : 'final';
  log(
    `synthetic, ${which} (ipc ${ctx.config.distill.ipc}, ${evaluate.runs} networks, learned lr ${result.synthetic.protocol.lr.toPrecision(4)}): ${pct(result.synthetic)} test accuracy`,
  );
  if (result.final && result.final !== result.synthetic)
    log(
      `synthetic, final iterate (iteration ${sets?.final.iteration}, lr ${result.final.protocol.lr.toPrecision(4)}): ${pct(result.final)} test accuracy`,
    );
  if (result.randomReal)
    log(`random real subset (same ipc, lr ${result.randomReal.protocol.lr}): ${pct(result.randomReal)}`);
  log(`evaluation: ${result.key}`);
}
