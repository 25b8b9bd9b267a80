import { z } from 'zod';

/** One HoP-TM distillation run (method.md section A; per-yaml values in section G.1). */
export const distillSchema = z
  .strictObject({
    ipc: z.number().int().min(1).meta({ description: 'Synthetic images per class.' }),
    synSteps: z.number().int().min(1).default(80).meta({ description: 'Unrolled student steps N.' }),
    expertEpochs: z
      .number()
      .int()
      .min(1)
      .default(2)
      .meta({ description: 'Expert epochs M matched per iteration.' }),
    minStartEpoch: z.number().int().nonnegative().default(0),
    maxStartEpoch: z
      .number()
      .int()
      .min(1)
      .default(4)
      .meta({ description: 'Exclusive upper bound of the start epoch (np.random.randint).' }),
    lrImg: z.number().positive().default(10),
    lrLr: z.number().nonnegative().default(1e-7),
    lrTeacher: z
      .number()
      .positive()
      .default(0.01)
      .meta({ description: 'Initial learnable student lr (syn_lr).' }),
    batchSyn: z.number().int().min(1).meta({ description: 'Synthetic images per inner step.' }),
    iterations: z
      .number()
      .int()
      .min(0)
      .default(10000)
      .meta({ description: 'Distillation iterations (the loop runs 0..iterations inclusive).' }),
    imageMomentum: z.number().min(0).max(1).default(0.5),
    lrMomentum: z.number().min(0).max(1).default(0.5),
    init: z
      .enum(['real', 'noise'])
      .default('real')
      .meta({ description: 'Initialise from random real images of each class, or N(0,1) noise.' }),
    mask: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .meta({ description: 'Easy-to-complex mask; false means v = 1 everywhere (MTT loss).' }),
        baseThreshold: z.number().positive().default(5e-9),
        growingFactor: z.number().min(1).default(1.5),
        growEvery: z
          .number()
          .int()
          .min(1)
          .default(500)
          .meta({ description: 'Iterations per threshold growth step.' }),
        recompute: z.boolean().default(false).meta({
          description:
            'Recompute v each iteration (classic self-paced learning) instead of the reference cumulative mask.',
        }),
      })
      .prefault({}),
    shape: z
      .strictObject({
        enabled: z.boolean().default(true).meta({ description: 'Shape-wise angle potential (high_order).' }),
        lambda: z.number().nonnegative().default(0.5),
      })
      .prefault({}),
    evalEvery: z.number().int().min(0).default(500).meta({
      description: 'Iterations between in-run evaluations (one network each); 0 evaluates only at the end.',
    }),
    checkpointEvery: z
      .number()
      .int()
      .min(1)
      .default(50)
      .meta({ description: 'Iterations between full-state checkpoints.' }),
    seed: z.number().int().nonnegative().default(0),
  })
  .meta({ title: 'Distillation' });
export type DistillConfig = z.infer<typeof distillSchema>;
