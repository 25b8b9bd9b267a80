import { defineCommand } from 'citty';
import { runArgs } from '../args.ts';
import { createContext } from '../context.ts';
import { runDistill } from './distill.ts';
import { runEvaluate } from './evaluate.ts';
import { runExperts } from './experts.ts';

export default defineCommand({
  meta: {
    name: 'run',
    description: 'Experts, distillation and evaluation in one go (every step resumes where it stopped)',
  },
  args: runArgs,
  async run({ args, rawArgs }) {
    const ctx = await createContext(args, rawArgs);
    await runExperts(ctx);
    await runDistill(ctx, 'main');
    await runEvaluate(ctx, 'main', true);
  },
});
