// One class of Temporal worker on Kubernetes: its service account (bound to a Google service account through
// Workload Identity), its Deployment, its PodDisruptionBudget and, for the GPU worker, its KEDA scaler.
//
// How the GPU worker scales without killing running activities (docs/adr-infra.md):
// - Temporal's backlog counts tasks waiting for a worker, not tasks running on one. A scaler on the backlog
//   alone sees zero while every GPU worker is busy and would remove them. So the worker labels its own pod
//   `hoptm.dev/busy=true` while it runs an activity, and KEDA adds a second trigger counting busy pods; the
//   desired replica count is backlog + busy (a scaling-modifier formula), never below the running work.
// - While busy, the pod also sets `controller.kubernetes.io/pod-deletion-cost`, so a scale-down removes idle
//   pods first, and carries `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"` so that the cluster
//   autoscaler does not evict it to consolidate nodes.
// - A worker may patch pods only through a Role limited to its namespace, and an admission policy narrows
//   that to its own pod's busy label and deletion-cost annotation.
// - The grace period covers one checkpoint interval plus the time to write it.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';

type EnvVar = k8s.types.input.core.v1.EnvVar;

export const BUSY_LABEL = 'hoptm.dev/busy';
export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
export const SAFE_TO_EVICT_ANNOTATION = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
/** The user the images run as (Dockerfile). */
export const WORKER_UID = 10001;
/** The image's health check (infra/docker/healthcheck.mjs, copied by the Dockerfile). */
export const HEALTHCHECK_COMMAND = ['node', '/app/infra/docker/healthcheck.mjs'];

export interface WorkerScalerArgs {
  taskQueue: string;
  /** Trigger metadata for the Temporal scaler: endpoint, namespace, TLS server name. */
  temporalMetadata: Record<string, string>;
  temporalAuth?: { secretName: pulumi.Input<string>; parameters: Record<string, string> };
  /** Activities one worker runs at once: the formula's target. */
  activitiesPerWorker: number;
  maxReplicas: number;
  pollingIntervalSeconds: number;
  cooldownSeconds: number;
  scaleDownStabilizationSeconds: number;
  scaleDownPeriodSeconds: number;
  scaleUpPodsPerMinute: number;
  /** The KEDA installation, whose CRDs the scaler needs. */
  keda: pulumi.Resource;
}

export interface WorkerDeploymentArgs {
  namespace: pulumi.Input<string>;
  /** Name of the Deployment, its pods' `app.kubernetes.io/name` and its Kubernetes service account. */
  workerName: string;
  image: pulumi.Input<string>;
  gcpServiceAccountEmail: pulumi.Input<string>;
  resources: { cpu: number; memoryGiB: number; gpus: number };
  nodeSelector: Record<string, string>;
  tolerations: k8s.types.input.core.v1.Toleration[];
  env: EnvVar[];
  volumes: k8s.types.input.core.v1.Volume[];
  volumeMounts: k8s.types.input.core.v1.VolumeMount[];
  terminationGracePeriodSeconds: number;
  /** Fixed replica count; leave out when `scaler` is given (KEDA owns the count). */
  replicas?: number;
  /** Voluntary disruptions (drains, upgrades) allowed at once; 0 for workers whose activities run for hours. */
  maxUnavailable: number;
  scaler?: WorkerScalerArgs;
}

export class WorkerDeployment extends pulumi.ComponentResource {
  public readonly serviceAccount: k8s.core.v1.ServiceAccount;
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
  public readonly scaledObject?: k8s.apiextensions.CustomResource;
  public readonly deploymentName: pulumi.Output<string>;

  constructor(name: string, args: WorkerDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('hoptm:k8s:WorkerDeployment', name, {}, opts);
    const child = { parent: this };
    const labels = { 'app.kubernetes.io/name': args.workerName, 'app.kubernetes.io/part-of': 'hoptm' };
    const scaled = args.scaler !== undefined;

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          name: args.workerName,
          namespace: args.namespace,
          labels,
          annotations: { 'iam.gke.io/gcp-service-account': args.gcpServiceAccountEmail },
        },
        // Only a scaled worker talks to the Kubernetes API (to label its own pod busy).
        automountServiceAccountToken: scaled,
      },
      child,
    );

    const env: EnvVar[] = [...args.env];
    if (scaled) {
      env.push(
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'HOPTM_BUSY_LABEL', value: BUSY_LABEL },
      );
      this.allowOwnPodStatus(name, args, labels);
    }

    const requests: Record<string, string> = {
      cpu: `${args.resources.cpu}`,
      memory: `${args.resources.memoryGiB}Gi`,
    };
    const limits: Record<string, string> = { memory: `${args.resources.memoryGiB}Gi` };
    if (args.resources.gpus > 0) limits['nvidia.com/gpu'] = `${args.resources.gpus}`;

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: {
          name: args.workerName,
          namespace: args.namespace,
          labels,
          // `pulumi up` does not wait for the rollout: on the first run the images are pushed only after the
          // registry exists (docs/deploy.md), and `kubectl rollout status` is the check.
          annotations: { 'pulumi.com/skipAwait': 'true' },
        },
        spec: {
          replicas: scaled ? undefined : args.replicas,
          revisionHistoryLimit: 3,
          selector: { matchLabels: labels },
          // Start the new pod before stopping an old one; the old one still gets its full grace period.
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
          template: {
            metadata: {
              labels,
              annotations: scaled ? { [SAFE_TO_EVICT_ANNOTATION]: 'false' } : {},
            },
            spec: {
              serviceAccountName: this.serviceAccount.metadata.name,
              automountServiceAccountToken: scaled,
              terminationGracePeriodSeconds: args.terminationGracePeriodSeconds,
              nodeSelector: args.nodeSelector,
              tolerations: args.tolerations,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: WORKER_UID,
                runAsGroup: WORKER_UID,
                fsGroup: WORKER_UID,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name: 'worker',
                  image: args.image,
                  imagePullPolicy: 'IfNotPresent',
                  env,
                  resources: { requests, limits },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  // The worker touches HOPTM_HEALTH_FILE from its event loop; a stale file means a stuck loop
                  // (no heartbeats either). Same check as the image's HEALTHCHECK.
                  livenessProbe: {
                    exec: { command: HEALTHCHECK_COMMAND },
                    initialDelaySeconds: 60,
                    periodSeconds: 60,
                    timeoutSeconds: 10,
                    failureThreshold: 5,
                  },
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...args.volumeMounts],
                },
              ],
              volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '2Gi' } }, ...args.volumes],
            },
          },
        },
      },
      child,
    );
    this.deploymentName = this.deployment.metadata.name;

    this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { name: args.workerName, namespace: args.namespace, labels },
        spec: {
          maxUnavailable: args.maxUnavailable,
          selector: { matchLabels: labels },
          // A crash-looping pod must not block node drains.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      },
      child,
    );

    if (args.scaler) this.scaledObject = this.createScaler(name, args, args.scaler);
    this.registerOutputs({ deploymentName: this.deploymentName });
  }

  /** Lets the worker patch pods in its namespace, narrowed by an admission policy to its own busy markers. */
  private allowOwnPodStatus(name: string, args: WorkerDeploymentArgs, labels: Record<string, string>) {
    const child = { parent: this };
    const role = new k8s.rbac.v1.Role(
      `${name}-pod-status`,
      {
        metadata: { name: `${args.workerName}-pod-status`, namespace: args.namespace, labels },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] }],
      },
      child,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-pod-status`,
      {
        metadata: { name: `${args.workerName}-pod-status`, namespace: args.namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
        subjects: [{ kind: 'ServiceAccount', name: args.workerName, namespace: args.namespace }],
      },
      child,
    );
    const unchangedExcept = (kind: 'labels' | 'annotations', key: string) =>
      `variables.new_${kind}.all(k, k == '${key}' || (k in variables.old_${kind} && ` +
      `variables.old_${kind}[k] == variables.new_${kind}[k])) && ` +
      `variables.old_${kind}.all(k, k == '${key}' || k in variables.new_${kind})`;
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
      `${name}-own-pod-only`,
      {
        metadata: { name: pulumi.interpolate`${args.workerName}-${args.namespace}-own-pod-only`, labels },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] },
            ],
          },
          matchConditions: [
            {
              name: 'is-worker',
              expression: pulumi.interpolate`request.userInfo.username == 'system:serviceaccount:${args.namespace}:${args.workerName}'`,
            },
          ],
          variables: [
            { name: 'old_labels', expression: 'oldObject.metadata.?labels.orValue({})' },
            { name: 'new_labels', expression: 'object.metadata.?labels.orValue({})' },
            { name: 'old_annotations', expression: 'oldObject.metadata.?annotations.orValue({})' },
            { name: 'new_annotations', expression: 'object.metadata.?annotations.orValue({})' },
          ],
          validations: [
            {
              expression:
                "'authentication.kubernetes.io/pod-name' in request.userInfo.extra && " +
                "object.metadata.name == request.userInfo.extra['authentication.kubernetes.io/pod-name'][0]",
              message: 'a worker may change only its own pod',
            },
            { expression: 'object.spec == oldObject.spec', message: 'a worker may not change a pod spec' },
            {
              expression: unchangedExcept('labels', BUSY_LABEL),
              message: `a worker may change only ${BUSY_LABEL}`,
            },
            {
              expression: unchangedExcept('annotations', DELETION_COST_ANNOTATION),
              message: `a worker may change only the ${DELETION_COST_ANNOTATION} annotation`,
            },
          ],
        },
      },
      child,
    );
    new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
      `${name}-own-pod-only`,
      {
        metadata: { name: policy.metadata.name, labels },
        spec: { policyName: policy.metadata.name, validationActions: ['Deny'] },
      },
      child,
    );
  }

  private createScaler(name: string, args: WorkerDeploymentArgs, s: WorkerScalerArgs) {
    const child = { parent: this, dependsOn: [s.keda] };
    let authenticationRef: { name: pulumi.Input<string> } | undefined;
    if (s.temporalAuth) {
      const auth = new k8s.apiextensions.CustomResource(
        `${name}-temporal-auth`,
        {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'TriggerAuthentication',
          metadata: { name: `${args.workerName}-temporal`, namespace: args.namespace },
          spec: {
            secretTargetRef: Object.entries(s.temporalAuth.parameters).map(([parameter, key]) => ({
              parameter,
              name: s.temporalAuth?.secretName,
              key,
            })),
          },
        },
        child,
      );
      authenticationRef = { name: auth.metadata.name };
    }
    return new k8s.apiextensions.CustomResource(
      `${name}-scaler`,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: args.workerName, namespace: args.namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.deployment.metadata.name },
          pollingInterval: s.pollingIntervalSeconds,
          cooldownPeriod: s.cooldownSeconds,
          minReplicaCount: 0,
          maxReplicaCount: s.maxReplicas,
          advanced: {
            restoreToOriginalReplicaCount: false,
            // Desired replicas = (waiting tasks + what busy pods can hold) / activities per worker: never fewer
            // pods than are busy, and one more for each waiting task.
            scalingModifiers: {
              formula: `backlog + busy * ${s.activitiesPerWorker}`,
              target: `${s.activitiesPerWorker}`,
              activationTarget: '0',
              metricType: 'AverageValue',
            },
            horizontalPodAutoscalerConfig: {
              behavior: {
                scaleDown: {
                  stabilizationWindowSeconds: s.scaleDownStabilizationSeconds,
                  selectPolicy: 'Min',
                  policies: [{ type: 'Pods', value: 1, periodSeconds: s.scaleDownPeriodSeconds }],
                },
                scaleUp: {
                  stabilizationWindowSeconds: 0,
                  selectPolicy: 'Max',
                  policies: [{ type: 'Pods', value: s.scaleUpPodsPerMinute, periodSeconds: 60 }],
                },
              },
            },
          },
          triggers: [
            {
              type: 'temporal',
              name: 'backlog',
              metadata: {
                ...s.temporalMetadata,
                taskQueue: s.taskQueue,
                queueTypes: 'activity',
                targetQueueSize: `${s.activitiesPerWorker}`,
                activationTargetQueueSize: '0',
              },
              ...(authenticationRef ? { authenticationRef } : {}),
            },
            {
              type: 'kubernetes-workload',
              name: 'busy',
              metadata: {
                podSelector: `app.kubernetes.io/name=${args.workerName},${BUSY_LABEL}=true`,
                value: '1',
                activationValue: '0',
              },
            },
          ],
        },
      },
      child,
    );
  }
}
