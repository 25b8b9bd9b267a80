import { z } from 'zod';

/** Expert (teacher) trajectories: buffer_FTD.py defaults (method.md section B). */
export const expertsSchema = z
  .strictObject({
    count: z.number().int().min(1).default(100).meta({ description: 'Number of expert trajectories.' }),
    epochs: z
      .number()
      .int()
      .min(1)
      .default(100)
      .meta({ description: 'Training epochs per expert (snapshots: epochs + 1).' }),
    batchSize: z.number().int().min(1).default(256),
    lr: z.number().positive().default(0.01).meta({ description: 'Constant SGD learning rate (lr_teacher).' }),
    gsam: z
      .strictObject({
        rho: z.number().nonnegative().default(0.01),
        alpha: z.number().default(0.3),
        adaptive: z.boolean().default(true),
      })
      .nullable()
      .default({ rho: 0.01, alpha: 0.3, adaptive: true })
      .meta({ description: 'GSAM wrapper (FTD); null trains with plain SGD.' }),
    dsa: z.boolean().default(true).meta({ description: 'DSA augmentation on every real minibatch.' }),
    keepEpochs: z.enum(['all', 'sampled']).default('all').meta({
      description:
        "'sampled' keeps only the epochs distillation can use (max_start_epoch - 1 + expert_epochs).",
    }),
    snapshotDtype: z.enum(['float32', 'float16']).default('float32'),
    seed: z.number().int().nonnegative().default(0),
  })
  .meta({ title: 'Experts' });
export type ExpertsConfig = z.infer<typeof expertsSchema>;
