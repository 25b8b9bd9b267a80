/**
 * What a caller (config file, CLI, activity) says about the dataset to load, as a zod schema, so a config
 * layer can embed it and nothing reaches a loader unvalidated. Unknown keys are errors: a misspelt option
 * must not silently fall back to a default.
 */
import { z } from 'zod';
import { MEDMNIST_NAMES, MEDMNIST_SIZES } from './medmnist.ts';

const positiveInt = z.int().positive();
const size2 = z.tuple([positiveInt, positiveInt]);

export const preprocessOverridesSchema = z.strictObject({
  mean: z.array(z.number()).min(1).optional(),
  std: z.array(z.number().positive()).min(1).optional(),
  /** Model input `[height, width]`. */
  outputSize: size2.optional(),
  antialias: z.boolean().optional(),
});

export const medmnistSpecSchema = z.strictObject({
  kind: z.literal('medmnist'),
  path: z.string().min(1),
  name: z.enum(MEDMNIST_NAMES).optional(),
  imageSize: z.union(MEDMNIST_SIZES.map((s) => z.literal(s))),
  includeVal: z.boolean().optional(),
  preprocess: preprocessOverridesSchema.optional(),
});

export const imageFolderSpecSchema = z.strictObject({
  kind: z.literal('image-folder'),
  root: z.string().min(1),
  name: z.string().min(1).optional(),
  /** Stored size every image must have; defaults to the first image's. */
  imageSize: z.union([positiveInt, size2]).optional(),
  /** Fraction of each class's train images (the last, in sorted file order) held out as val (default 0.1). */
  valFraction: z.number().min(0).lt(1).optional(),
  preprocess: preprocessOverridesSchema.optional(),
});

export const mnistSpecSchema = z.strictObject({
  kind: z.literal('mnist'),
  channels: z.union([z.literal(1), z.literal(3)]).optional(),
  maxTrainPerClass: positiveInt.optional(),
  maxTestPerClass: positiveInt.optional(),
  /** Validation images per digit carved from the end of its train part (default 100; 0 for none). */
  valPerClass: z.int().nonnegative().optional(),
  preprocess: preprocessOverridesSchema.optional(),
});

export const datasetSpecSchema = z.discriminatedUnion('kind', [
  medmnistSpecSchema,
  imageFolderSpecSchema,
  mnistSpecSchema,
]);

export type DatasetSpec = z.infer<typeof datasetSpecSchema>;
export type MedMnistSpec = z.infer<typeof medmnistSpecSchema>;
export type ImageFolderSpec = z.infer<typeof imageFolderSpecSchema>;
export type MnistSpec = z.infer<typeof mnistSpecSchema>;
