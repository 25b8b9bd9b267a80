import { z } from 'zod';
import { auditSchema } from './audit.ts';
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
    audit: auditSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const { distill, experts } = cfg;
    const noVal = datasetWithoutVal(cfg.dataset);
    if (cfg.evaluate.selection === 'val' && noVal !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluate', 'selection'],
        message: `selection is 'val' but the dataset loads no validation split (${noVal}); load one, or set evaluate.selection to 'test' to select on test as the reference does`,
      });
    }
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

/** Why a dataset spec loads no val split, or null when it loads one (the loaders' defaults, docs/evaluation.md). */
function datasetWithoutVal(d: z.infer<typeof datasetSchema>): string | null {
  switch (d.kind) {
    case 'medmnist':
      return d.includeVal === true ? null : 'dataset.includeVal is not true';
    case 'mnist':
      return d.valPerClass === 0 ? 'dataset.valPerClass is 0' : null;
    case 'image-folder':
      return d.valFraction === 0 ? 'dataset.valFraction is 0' : null;
  }
}

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

/** Epochs of each expert that distillation can ever read: start epochs [min, max) plus M. */
export const sampledExpertEpochs = (cfg: RunConfig): number =>
  cfg.distill.maxStartEpoch - 1 + cfg.distill.expertEpochs;
