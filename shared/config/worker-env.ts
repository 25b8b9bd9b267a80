/**
 * The workers' environment (docs/deploy.md section 8; infra/pulumi/workers.ts sets exactly these). Read once
 * at worker start by `parseWorkerEnv`, which lists every missing or invalid variable in one error; after
 * that the parsed value is passed on and nothing reads process.env.
 */
import { z } from 'zod';
import { BACKEND_CHOICES } from '../engine/backends/types.ts';

const seconds = z.coerce.number().int().positive();
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const workerEnvSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().min(1).optional().meta({
      description: 'host:port of the Temporal frontend; unset: the local dev server under the runs folder.',
    }),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_API_KEY: z.string().min(1).optional(),
    TEMPORAL_TLS: flag.optional(),
    TEMPORAL_TLS_CERT: z.string().min(1).optional().meta({ description: 'Client certificate file (mTLS).' }),
    TEMPORAL_TLS_KEY: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    HOPTM_TASK_QUEUE: z
      .string()
      .min(1)
      .meta({ description: 'hoptm-cpu or hoptm-gpu (or the infra config).' }),
    HOPTM_ROLE: z.enum(['cpu', 'gpu']).optional().meta({
      description: 'Which activities and workflows to serve; defaults from the task queue name.',
    }),
    HOPTM_BACKEND: z.enum(BACKEND_CHOICES).default('auto'),
    HOPTM_STORAGE_URL: z.string().min(1).optional().meta({
      description: 'Default artifact store for runs started without --out (a folder or gs://bucket/prefix).',
    }),
    HOPTM_DATASETS_URL: z.string().min(1).optional(),
    HOPTM_GCS_ENDPOINT: z.url().optional().meta({ description: 'A GCS-compatible endpoint (emulators).' }),
    HOPTM_MAX_CONCURRENT_ACTIVITIES: seconds.default(1),
    HOPTM_CHECKPOINT_INTERVAL_SECONDS: seconds.default(300),
    HOPTM_SHUTDOWN_GRACE_SECONDS: seconds.default(25),
    HOPTM_PROGRESS_INTERVAL_SECONDS: z.coerce.number().positive().default(5),
    HOPTM_HEALTH_FILE: z.string().min(1).optional(),
    POD_NAME: z.string().min(1).optional(),
    POD_NAMESPACE: z.string().min(1).optional(),
    HOPTM_BUSY_LABEL: z.string().min(1).default('hoptm.dev/busy').meta({
      description: 'The label a GPU worker sets on its own pod while it runs an activity.',
    }),
    KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
    KUBERNETES_SERVICE_PORT: z.string().min(1).optional(),
    HOPTM_CODE_VERSION: z.string().min(1).optional(),
    HOPTM_WORKFLOW_BUNDLE: z.string().min(1).optional().meta({
      description:
        'The workflow bundle built at image build (scripts/bundle-workflows.ts); unset: bundle at start.',
    }),
  })
  .superRefine((env, ctx) => {
    const cert = env.TEMPORAL_TLS_CERT ?? env.TEMPORAL_TLS_CLIENT_CERT_PATH;
    const key = env.TEMPORAL_TLS_KEY ?? env.TEMPORAL_TLS_CLIENT_KEY_PATH;
    if ((cert === undefined) !== (key === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [cert === undefined ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY'],
        message: 'mTLS needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (or neither)',
      });
  })
  .meta({ title: 'HoP-TM worker environment' });

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export class WorkerEnvError extends Error {
  override readonly name = 'WorkerEnvError';
}

/** Parses the environment; the error lists every invalid variable with what it expected. */
export function parseWorkerEnv(env: Record<string, string | undefined>): WorkerEnv {
  const r = workerEnvSchema.safeParse(env);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const name = String(i.path[0] ?? '(environment)');
    return `  ${name}=${JSON.stringify(env[name] ?? null)}: ${i.message}`;
  });
  throw new WorkerEnvError(`invalid worker environment:\n${lines.join('\n')}`);
}

/** The role a worker plays: from HOPTM_ROLE, else from its task queue's name. */
export const workerRole = (env: WorkerEnv): 'cpu' | 'gpu' =>
  env.HOPTM_ROLE ?? (env.HOPTM_TASK_QUEUE.includes('gpu') ? 'gpu' : 'cpu');
