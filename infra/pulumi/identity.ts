// Google service accounts and the project-level IAM they need. Least privilege, and no keys anywhere:
// - the node service account only writes logs and metrics (roles/container.defaultNodeServiceAccount) and
//   pulls images from our repository (granted on the repository, registry.ts);
// - each worker class has its own account, reachable only from its Kubernetes service account through
//   Workload Identity; its storage roles are granted on the two buckets and nowhere else (storage.ts).
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config';

export type WorkerClass = 'cpu' | 'gpu';

export interface WorkerIdentity {
  account: gcp.serviceaccount.Account;
  /** `serviceAccount:<email>`, for IAM bindings. */
  member: pulumi.Output<string>;
  /** The Kubernetes service account that may act as it. */
  kubernetesServiceAccount: string;
}

export function kubernetesServiceAccountName(config: InfraConfig, worker: WorkerClass): string {
  return `${config.name}-${worker}-worker`;
}

export function createNodeServiceAccount(config: InfraConfig) {
  const account = new gcp.serviceaccount.Account(`${config.name}-nodes`, {
    project: config.project,
    accountId: `${config.name}-nodes`,
    displayName: 'HoP-TM GKE nodes (logs, metrics, image pulls)',
  });
  new gcp.projects.IAMMember(`${config.name}-nodes-default-node-role`, {
    project: config.project,
    role: 'roles/container.defaultNodeServiceAccount',
    member: pulumi.interpolate`serviceAccount:${account.email}`,
  });
  return { account, member: pulumi.interpolate`serviceAccount:${account.email}` };
}

export function createWorkerIdentity(
  config: InfraConfig,
  worker: WorkerClass,
  dependsOn: pulumi.Resource[],
): WorkerIdentity {
  const ksa = kubernetesServiceAccountName(config, worker);
  const account = new gcp.serviceaccount.Account(`${config.name}-${worker}-worker`, {
    project: config.project,
    accountId: `${config.name}-${worker}-worker`,
    displayName: `HoP-TM ${worker.toUpperCase()} worker (Workload Identity ${config.namespace}/${ksa})`,
  });
  // The workload pool exists once the cluster does; the binding names it.
  new gcp.serviceaccount.IAMMember(
    `${config.name}-${worker}-worker-workload-identity`,
    {
      serviceAccountId: account.name,
      role: 'roles/iam.workloadIdentityUser',
      member: `serviceAccount:${config.project}.svc.id.goog[${config.namespace}/${ksa}]`,
    },
    { dependsOn },
  );
  return {
    account,
    member: pulumi.interpolate`serviceAccount:${account.email}`,
    kubernetesServiceAccount: ksa,
  };
}
