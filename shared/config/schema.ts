import { z } from 'zod';
import { datasetSchema } from './dataset.ts';
import { distillSchema } from './distill.ts';
import { evaluateSchema } from './evaluate.ts';
import { expertsSchema } from './experts.ts';
import { modelSchema } from './model.ts';

/** A whole HoP-TM run: data, model, experts, distillation and evaluation. */
export const runConfigSchema = z
  .strictObject({
    name: z.string().min(1).meta({ description: 'Run name (preset name by default).' }),
    dataset: datasetSchema,
    model: modelSchema.prefault({}),
    experts: expertsSchema.prefault({}),
    distill: distillSchema,
    evaluate: evaluateSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const { distill, experts } = cfg;
    if (distill.minStartEpoch >= distill.maxStartEpoch) {
      ctx.addIssue({
        code: 'custom',
        path: ['distill', 'minStartEpoch'],
        message: `minStartEpoch (${distill.minStartEpoch}) must be below the exclusive maxStartEpoch (${distill.maxStartEpoch})`,
      });
    }
    const lastEpoch = distill.maxStartEpoch - 1 + distill.expertEpochs;
    if (lastEpoch > experts.epochs) {
      ctx.addIssue({
        code: 'custom',
        path: ['distill', 'maxStartEpoch'],
        message: `distillation can sample expert epoch ${lastEpoch} (maxStartEpoch - 1 + expertEpochs) but experts train only ${experts.epochs} epochs`,
      });
    }
  })
  .meta({ title: 'HoP-TM run configuration' });

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** Epochs of each expert that distillation can ever read: start epochs [min, max) plus M. */
export const sampledExpertEpochs = (cfg: RunConfig): number =>
  cfg.distill.maxStartEpoch - 1 + cfg.distill.expertEpochs;
