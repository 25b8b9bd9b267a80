import { z } from 'zod';

/** The privacy audit of a published set and its publish gate (docs/privacy.md). */
export const auditSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .meta({ description: 'Audit the published set in the publish step (hoptm run / the pipeline).' }),
    nearCopySsim: z.number().min(0).max(1).default(0.9).meta({
      description:
        'A synthetic image whose SSIM with its nearest real training image is at least this is flagged as a near-copy.',
    }),
    ssimCandidates: z.number().int().min(1).default(64).meta({
      description:
        'SSIM is computed against this many L2-nearest real images per synthetic image (and its initial image).',
    }),
    membership: z
      .strictObject({
        enabled: z.boolean().default(true).meta({ description: 'Run the membership-inference attacks.' }),
        members: z
          .number()
          .int()
          .min(1)
          .default(500)
          .meta({ description: 'Real training images sampled as members (the initial images are added).' }),
        nonMembers: z
          .number()
          .int()
          .min(1)
          .default(500)
          .meta({ description: 'Held-out test images sampled as non-members.' }),
        realEpochs: z.number().int().min(1).default(30).meta({
          description: 'Epochs of the contrast network trained on the real training data (expert lr).',
        }),
        referenceNetworks: z.number().int().min(0).default(2).meta({
          description:
            'Reference networks of the calibrated attack, trained on the val split (0: loss attack only).',
        }),
        seed: z.number().int().nonnegative().default(0),
      })
      .prefault({}),
    gate: z
      .strictObject({
        enabled: z.boolean().default(false).meta({
          description:
            'Refuse to publish (non-retryable) when an image is flagged or the AUC is above maxAuc.',
        }),
        refuseNearCopies: z.boolean().default(true),
        maxAuc: z.number().min(0).max(1).default(0.6).meta({
          description: 'Largest loss-attack ROC AUC on the synthetic-trained network that may be published.',
        }),
      })
      .prefault({}),
  })
  .meta({ title: 'Privacy audit' });
export type AuditConfig = z.infer<typeof auditSchema>;
export type PublishGateConfig = AuditConfig['gate'];
