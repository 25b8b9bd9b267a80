import { z } from 'zod';

/** The ConvNet family (method.md section C); channels, classes and image size come from the dataset. */
export const modelSchema = z
  .strictObject({
    width: z
      .number()
      .int()
      .min(1)
      .default(128)
      .meta({ description: 'Feature maps per block (reference: 128).' }),
    depth: z
      .number()
      .int()
      .min(1)
      .default(3)
      .meta({ description: 'Conv blocks (3 for 32 px, 5 for 112 px).' }),
  })
  .meta({ title: 'Model' });
export type ModelConfig = z.infer<typeof modelSchema>;
