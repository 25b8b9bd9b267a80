import { z } from 'zod';

/**
 * How the Temporal pipeline schedules a run (not what it computes: these never change the results, so they
 * are not part of the config hash that names a run).
 */
export const pipelineSchema = z
  .strictObject({
    expertConcurrency: z
      .number()
      .int()
      .min(1)
      .default(4)
      .meta({ description: 'Expert activities in flight at once (one GPU worker takes one at a time).' }),
    evaluationConcurrency: z.number().int().min(1).default(8).meta({
      description: 'Evaluation activities (networks and baselines) in flight at once.',
    }),
    sliceIterations: z.number().int().min(0).default(0).meta({
      description:
        'Distillation iterations per activity; 0 = one easy-to-complex stage (mask.growEvery) per activity.',
    }),
    slicesPerHistory: z.number().int().min(1).default(100).meta({
      description:
        'Distillation slices per workflow history before it continues as new (also when the server suggests it).',
    }),
    heartbeatTimeoutSeconds: z.number().int().min(1).default(120).meta({
      description: 'A heavy activity that sends no heartbeat for this long is retried on another worker.',
    }),
    activityTimeoutHours: z
      .number()
      .positive()
      .default(24)
      .meta({ description: 'Upper bound of one heavy activity attempt (start to close).' }),
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .default(20)
      .meta({ description: 'Attempts per activity before the run fails (preemptions retry).' }),
    retryInitialSeconds: z.number().positive().default(1),
    taskQueues: z
      .strictObject({
        cpu: z.string().min(1).default('hoptm-cpu'),
        gpu: z.string().min(1).default('hoptm-gpu'),
      })
      .prefault({})
      .meta({ description: 'Workflows and light activities on cpu, tensor work on gpu (docs/deploy.md 8).' }),
  })
  .meta({ title: 'Pipeline scheduling' });
export type PipelineOptions = z.infer<typeof pipelineSchema>;
