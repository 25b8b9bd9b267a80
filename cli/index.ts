/**
 * hoptm: HoP-TM dataset distillation on this machine, without Temporal.
 *   npx tsx cli/index.ts run --preset mnist-ipc1      (or: npm run hoptm -- run ...)
 * Each command is loaded only when it is invoked.
 */
import { defineCommand, runMain } from 'citty';

const main = defineCommand({
  meta: {
    name: 'hoptm',
    description:
      'High-Order Progressive Trajectory Matching: distil a dataset into a few synthetic images per class',
  },
  subCommands: {
    run: () => import('./commands/run.ts').then((m) => m.default),
    experts: () => import('./commands/experts.ts').then((m) => m.default),
    distill: () => import('./commands/distill.ts').then((m) => m.default),
    evaluate: () => import('./commands/evaluate.ts').then((m) => m.default),
    presets: () => import('./commands/presets.ts').then((m) => m.default),
  },
});

void runMain(main);
