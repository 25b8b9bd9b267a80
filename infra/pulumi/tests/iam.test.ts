// Least privilege: the IAM grants are exactly the intended ones, and no key is ever created.
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT, TYPES, expectEvery, runProgram, type Program, type Recorded } from './harness';

const sa = (id: string) => `serviceAccount:${id}@${PROJECT}.iam.gserviceaccount.com`;
const isIam = (r: Recorded) => /iam|policy/i.test(r.type.split(':')[1] ?? '') && r.type.startsWith('gcp:');

/** The one description of who may do what. Anything else is a failure. */
const INTENDED = [
  // Nodes: logs, metrics, and image pulls from our repository only.
  'projects/iAMMember project=hoptm-test role=roles/container.defaultNodeServiceAccount member=' +
    sa('hoptm-nodes'),
  `artifactregistry/repositoryIamMember repository=projects/${PROJECT}/locations/us-central1/repositories/hoptm role` +
    '=roles/artifactregistry.reader member=' +
    sa('hoptm-nodes'),
  // Workers: read datasets, read/write artifacts.
  'storage/bucketIAMMember bucket=hoptm-test-hoptm-datasets role=roles/storage.objectViewer member=' +
    sa('hoptm-cpu-worker'),
  'storage/bucketIAMMember bucket=hoptm-test-hoptm-datasets role=roles/storage.objectViewer member=' +
    sa('hoptm-gpu-worker'),
  'storage/bucketIAMMember bucket=hoptm-test-hoptm-artifacts role=roles/storage.objectUser member=' +
    sa('hoptm-cpu-worker'),
  'storage/bucketIAMMember bucket=hoptm-test-hoptm-artifacts role=roles/storage.objectUser member=' +
    sa('hoptm-gpu-worker'),
  // Each worker account can be used only by its own Kubernetes service account.
  `serviceaccount/iAMMember serviceAccountId=projects/${PROJECT}/serviceAccounts/hoptm-cpu-worker@${PROJECT}.iam.gserviceaccount.com role=roles/iam.workloadIdentityUser member=serviceAccount:${PROJECT}.svc.id.goog[hoptm/hoptm-cpu-worker]`,
  `serviceaccount/iAMMember serviceAccountId=projects/${PROJECT}/serviceAccounts/hoptm-gpu-worker@${PROJECT}.iam.gserviceaccount.com role=roles/iam.workloadIdentityUser member=serviceAccount:${PROJECT}.svc.id.goog[hoptm/hoptm-gpu-worker]`,
].sort();

function describeGrant(r: Recorded): string {
  const i = r.inputs;
  const target = i.bucket
    ? `bucket=${i.bucket}`
    : i.repository
      ? `repository=${i.repository}`
      : i.serviceAccountId
        ? `serviceAccountId=${i.serviceAccountId}`
        : `project=${i.project}`;
  return `${r.type.split(':')[1]} ${target} role=${i.role} member=${i.member ?? JSON.stringify(i.members ?? i.policyData)}`;
}

describe('default stack', () => {
  let program: Program;
  beforeAll(async () => {
    program = await runProgram();
  });

  it('grants exactly the intended IAM roles, to exactly the intended members, on exactly the intended resources', () => {
    const grants = program.resources.filter(isIam);
    expect(grants.map(describeGrant).sort(), grants.map((g) => g.urn).join('\n')).toEqual(INTENDED);
  });

  it('uses only additive IAM members, never authoritative bindings or policies', () => {
    expectEvery(
      'IAM members only',
      program.resources.filter(isIam),
      (r) => !/IAMMember|IamMember/.test(r.type) && r.type,
    );
  });

  it('grants no basic role and no admin role', () => {
    expectEvery(
      'no broad roles',
      program.resources.filter(isIam),
      (r) => /^roles\/(owner|editor|viewer)$|admin/i.test(r.inputs.role) && r.inputs.role,
    );
  });

  it('creates no service-account key and no HMAC key', () => {
    const keys = program.resources.filter((r) => /serviceaccount\/key:|hmacKey|apikeys/i.test(r.type));
    expect(keys.map((k) => k.urn)).toEqual([]);
    expect(program.ofType(TYPES.serviceAccount).length).toBe(3);
  });

  it("each worker's Kubernetes service account names its own Google service account, and its pods use it", () => {
    for (const worker of ['cpu', 'gpu']) {
      const ksa = program.named(TYPES.kubernetesServiceAccount, `hoptm-${worker}-worker`);
      expect(ksa.inputs.metadata.annotations['iam.gke.io/gcp-service-account'], ksa.urn).toBe(
        `hoptm-${worker}-worker@${PROJECT}.iam.gserviceaccount.com`,
      );
      const deployment = program.named(TYPES.deployment, `hoptm-${worker}-worker`);
      expect(deployment.inputs.spec.template.spec.serviceAccountName, deployment.urn).toBe(
        `hoptm-${worker}-worker`,
      );
    }
  });

  it('only the scaled GPU worker mounts a Kubernetes API token', () => {
    expect(
      program.named(TYPES.deployment, 'hoptm-cpu-worker').inputs.spec.template.spec
        .automountServiceAccountToken,
    ).toBe(false);
    expect(
      program.named(TYPES.deployment, 'hoptm-gpu-worker').inputs.spec.template.spec
        .automountServiceAccountToken,
    ).toBe(true);
  });

  it("the GPU worker's Kubernetes permissions are get/patch on pods in its namespace, narrowed to its own pod", () => {
    const role = program.only(TYPES.role);
    expect(role.inputs.metadata.namespace, role.urn).toBe('hoptm');
    expect(role.inputs.rules, role.urn).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
    ]);
    const binding = program.only(TYPES.roleBinding);
    expect(binding.inputs.subjects, binding.urn).toEqual([
      { kind: 'ServiceAccount', name: 'hoptm-gpu-worker', namespace: 'hoptm' },
    ]);
    const policy = program.only(TYPES.admissionPolicy);
    expect(policy.inputs.spec.matchConditions[0].expression, policy.urn).toBe(
      "request.userInfo.username == 'system:serviceaccount:hoptm:hoptm-gpu-worker'",
    );
    expect(policy.inputs.spec.failurePolicy, policy.urn).toBe('Fail');
    const messages = policy.inputs.spec.validations.map((v: { message: string }) => v.message);
    expect(messages, policy.urn).toEqual([
      'a worker may change only its own pod',
      'a worker may not change a pod spec',
      'a worker may change only hoptm.dev/busy',
      'a worker may change only the controller.kubernetes.io/pod-deletion-cost annotation',
    ]);
    const policyBinding = program.only(TYPES.admissionPolicyBinding);
    expect(policyBinding.inputs.spec, policyBinding.urn).toEqual({
      policyName: policy.inputs.metadata.name,
      validationActions: ['Deny'],
    });
  });
});
