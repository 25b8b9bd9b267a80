// Runs the real Pulumi program (index.ts, reading its stack configuration) offline against recording mocks,
// and hands the tests every resource it registered, with its URN and inputs. Each test states one rule and,
// when the rule breaks, fails with the URNs of the resources that break it.
import * as pulumi from '@pulumi/pulumi';
import { expect, vi } from 'vitest';

export const PROJECT = 'hoptm-test';
export const REGION = 'us-central1';

/** The smallest valid stack: everything else takes its default. */
export const BASE_CONFIG: Record<string, unknown> = {
  'gcp:project': PROJECT,
  'gcp:region': REGION,
  'hoptm:temporal': { address: 'temporal-frontend.temporal.svc.cluster.local:7233' },
};

export const TYPES = {
  cluster: 'gcp:container/cluster:Cluster',
  nodePool: 'gcp:container/nodePool:NodePool',
  bucket: 'gcp:storage/bucket:Bucket',
  serviceAccount: 'gcp:serviceaccount/account:Account',
  deployment: 'kubernetes:apps/v1:Deployment',
  scaledObject: 'kubernetes:keda.sh/v1alpha1:ScaledObject',
  triggerAuthentication: 'kubernetes:keda.sh/v1alpha1:TriggerAuthentication',
  pdb: 'kubernetes:policy/v1:PodDisruptionBudget',
  secret: 'kubernetes:core/v1:Secret',
  namespace: 'kubernetes:core/v1:Namespace',
  kubernetesServiceAccount: 'kubernetes:core/v1:ServiceAccount',
  role: 'kubernetes:rbac.authorization.k8s.io/v1:Role',
  roleBinding: 'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding',
  admissionPolicy: 'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy',
  admissionPolicyBinding: 'kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding',
  helmRelease: 'kubernetes:helm.sh/v3:Release',
} as const;

/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON by nature */
export interface Recorded {
  type: string;
  name: string;
  urn: string;
  /** Inputs with secrets unwrapped. */
  inputs: Record<string, any>;
  /** Paths (dotted) of the inputs that were Pulumi secrets. */
  secretPaths: string[];
}

/** How the mock monitor hands over a secret input. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const SECRET_VALUE = '1b47061264138c4ac30d75fd1eb44270';

function unwrapSecrets(value: any, path: string, found: string[]): any {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}.${i}`, found));
  if (value === null || typeof value !== 'object') return value;
  if (value[SECRET_SIG] === SECRET_VALUE) {
    found.push(path.slice(1));
    return unwrapSecrets(value.value, path, found);
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, `${path}.${k}`, found)]),
  );
}

export interface Program {
  resources: Recorded[];
  outputs: Record<string, unknown>;
  secretOutputs: Set<string>;
  ofType(type: string): Recorded[];
  /** The one resource of this type, or a failure naming how many there were. */
  only(type: string): Recorded;
  /** The resource of this type whose Kubernetes metadata.name (or GCP name) is `name`. */
  named(type: string, name: string): Recorded;
}

/** What the providers would compute: enough state for every output the program reads. */
function providerState(type: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case TYPES.serviceAccount: {
      const email = `${inputs.accountId}@${inputs.project}.iam.gserviceaccount.com`;
      return { email, name: `projects/${inputs.project}/serviceAccounts/${email}` };
    }
    case 'gcp:artifactregistry/repository:Repository':
      return {
        name: `projects/${inputs.project}/locations/${inputs.location}/repositories/${inputs.repositoryId}`,
      };
    case TYPES.cluster:
      return { endpoint: '203.0.113.10', masterAuth: { clusterCaCertificate: 'LS0tLS1CRUdJTg==' } };
    default:
      return {};
  }
}

async function resolve(value: unknown): Promise<{ value: unknown; secret: boolean }> {
  if (pulumi.Output.isInstance(value)) {
    const out = value as pulumi.Output<unknown>;
    const [resolved, secret] = await Promise.all([
      new Promise((r) => out.apply((v) => r(v))),
      (out as unknown as { isSecret: Promise<boolean> }).isSecret,
    ]);
    return { value: (await resolve(resolved)).value, secret };
  }
  if (Array.isArray(value)) {
    const items = await Promise.all(value.map(resolve));
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (value !== null && typeof value === 'object') {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await resolve(v)] as const),
    );
    return {
      value: Object.fromEntries(entries.map(([k, v]) => [k, v.value])),
      secret: entries.some(([, v]) => v.secret),
    };
  }
  return { value, secret: false };
}

/**
 * Loads index.ts with this stack configuration (values that are not strings are stored as JSON, as
 * `pulumi config set --path` does) and waits until every resource is registered.
 */
export async function runProgram(
  config: Record<string, unknown> = BASE_CONFIG,
  secrets: Record<string, string> = {},
): Promise<Program> {
  const recorded: Omit<Recorded, 'urn'>[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = { ...args.inputs, ...providerState(args.type, args.inputs) };
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, '', secretPaths);
        recorded.push({ type: args.type, name: args.name, inputs, secretPaths });
        return { id: `${args.name}-id`, state };
      },
      call(args) {
        return args.inputs;
      },
    },
    'hoptm',
    'test',
    false,
  );
  const values = Object.fromEntries(
    Object.entries({
      ...config,
      ...Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`hoptm:${k}`, v])),
    }).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
  pulumi.runtime.setAllConfig(
    values,
    Object.keys(secrets).map((k) => `hoptm:${k}`),
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    getRegisteredResources(): Map<string, unknown>;
  };

  vi.resetModules();
  const mod: Record<string, unknown> = await import('../index.js');
  const outputs: Record<string, unknown> = {};
  const secretOutputs = new Set<string>();
  for (const [key, value] of Object.entries(mod)) {
    const r = await resolve(value);
    outputs[key] = r.value;
    if (r.secret) secretOutputs.add(key);
  }
  // Waits for the registrations still in flight, then drops the mock monitor (the next run installs a new one).
  await pulumi.runtime.disconnect();

  const urns = [...monitor.getRegisteredResources().keys()];
  const resources = recorded.map((r) => {
    const urn = urns.find((u) => {
      const [, , qualifiedType, name] = u.split('::');
      return name === r.name && qualifiedType?.split('$').pop() === r.type;
    });
    if (urn === undefined) throw new Error(`no URN registered for ${r.type} ${r.name}`);
    return { ...r, urn };
  });
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    outputs,
    secretOutputs,
    ofType,
    only(type) {
      const found = ofType(type);
      expect(
        found.map((r) => r.urn),
        `exactly one ${type}`,
      ).toHaveLength(1);
      return found[0] as Recorded;
    },
    named(type, name) {
      const found = ofType(type).filter((r) => (r.inputs.metadata?.name ?? r.inputs.name) === name);
      expect(
        found.map((r) => r.urn),
        `exactly one ${type} named ${name}`,
      ).toHaveLength(1);
      return found[0] as Recorded;
    },
  };
}

/**
 * Asserts one rule over a non-empty set of resources: `check` returns why a resource breaks the rule, or
 * nothing. The failure lists `<urn>: <why>` for every offender.
 */
export function expectEvery(
  rule: string,
  resources: Recorded[],
  check: (r: Recorded) => string | undefined | false,
) {
  expect(resources.length, `nothing to check for: ${rule}`).toBeGreaterThan(0);
  const broken = resources.flatMap((r) => {
    const why = check(r);
    return why ? [`${r.urn}: ${why}`] : [];
  });
  expect(broken, rule).toEqual([]);
}

export function env(deployment: Recorded): Record<string, any> {
  const container = deployment.inputs.spec.template.spec.containers[0];
  return Object.fromEntries(
    (container.env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [
      e.name,
      e.value ?? e.valueFrom,
    ]),
  );
}
