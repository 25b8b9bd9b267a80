// The deployment and the workers cannot drift: every worker Deployment's environment, for each way of
// reaching Temporal, parses with the workers' own schema (shared/config/worker-env.ts, what
// workers/main.ts reads at start), and sets no variable that schema does not know.
import { describe, expect, it } from 'vitest';
import { BASE_CONFIG, TYPES, env, runProgram } from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any -- the schema module is loaded from outside this package */
// The root package's modules use .ts import specifiers, which this package's compiler settings refuse; vitest
// loads it at run time and the root typecheck covers the module itself.
const SCHEMA_MODULE = '../../../shared/config/worker-env' + '.ts';

/** A Deployment's env as the container sees it: values, and a stand-in for values filled in by the cluster. */
function containerEnv(e: Record<string, any>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(e).map(([k, v]) => [k, typeof v === 'string' ? v : `from-cluster:${k.toLowerCase()}`]),
  );
}

const STACKS: [string, Record<string, unknown>, Record<string, string>][] = [
  ['no auth', BASE_CONFIG, {}],
  [
    'API key',
    {
      ...BASE_CONFIG,
      'hoptm:temporal': { address: 'ns.a1b2c.tmprl.cloud:7233', namespace: 'ns.a1b2c', auth: 'apiKey' },
    },
    { temporalApiKey: 'key' },
  ],
  [
    'mTLS',
    {
      ...BASE_CONFIG,
      'hoptm:temporal': {
        address: 'temporal.example.org:7233',
        auth: 'mtls',
        tlsServerName: 'temporal.example.org',
      },
    },
    { temporalTlsCert: 'CERT', temporalTlsKey: 'KEY' },
  ],
];

describe('worker environment contract', () => {
  it.each(STACKS)(
    "%s: every worker Deployment env parses with the workers' schema",
    async (_name, config, secrets) => {
      const { workerEnvSchema, parseWorkerEnv } = (await import(SCHEMA_MODULE)) as any;
      const known = new Set(Object.keys(workerEnvSchema.shape));
      const program = await runProgram(config, secrets);
      const deployments = program.ofType(TYPES.deployment);
      expect(deployments.length).toBe(2);
      for (const d of deployments) {
        const e = containerEnv(env(d));
        const unknown = Object.keys(e).filter((k) => !known.has(k));
        expect(unknown, `${d.urn}: variables the workers do not read`).toEqual([]);
        expect(() => parseWorkerEnv(e), d.urn).not.toThrow();
      }
    },
  );
});
