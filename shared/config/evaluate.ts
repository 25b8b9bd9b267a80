import { z } from 'zod';

/** Evaluation protocol (method.md section F). */
export const evaluateSchema = z
  .strictObject({
    runs: z
      .number()
      .int()
      .min(1)
      .default(5)
      .meta({ description: 'Fresh networks trained per evaluation (mean and population std).' }),
    epochs: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .meta({ description: 'Training epochs (the reference loop runs epochs + 1).' }),
    batchSize: z.number().int().min(1).default(128),
    momentum: z.number().min(0).max(1).default(0.9),
    weightDecay: z.number().nonnegative().default(5e-4),
    dsa: z.boolean().default(true),
    selection: z
      .enum(['test', 'val'])
      .default('val')
      .meta({ description: "Split used to pick the best images ('test' reproduces the reference)." }),
    seed: z.number().int().nonnegative().default(0),
  })
  .meta({ title: 'Evaluation' });
export type EvaluateConfig = z.infer<typeof evaluateSchema>;
