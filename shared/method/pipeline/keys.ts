/** Artifact keys of a run's stages (docs/storage.md); experts' keys live in shared/method/experts/keys.ts. */
export const distillPrefix = (runId: string, stage: string): string => `${runId}/distill/${stage}`;
export const resultsPrefix = (runId: string, stage: string): string => `${runId}/results/${stage}`;
