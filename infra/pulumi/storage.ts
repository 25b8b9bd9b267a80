// The two buckets. Datasets: uploaded by people, read by the workers. Artifacts: written by the workers under
// `<runId>/expert/...`, `<runId>/distill/<stage>/checkpoint/...` and `<runId>/results/...`; versioned, so that a
// deleted or overwritten result can be restored, with lifecycle rules that expire checkpoints and nothing else.
import type * as gcp from '@pulumi/gcp';
import type * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config';
import { PrivateBucket } from './components/privateBucket';

/** Read objects (and list them). */
export const READ_ROLE = 'roles/storage.objectViewer';
/** Read, create, overwrite and delete objects; nothing on the bucket itself or its IAM policy. */
export const READ_WRITE_ROLE = 'roles/storage.objectUser';

/**
 * Checkpoints are the only objects ever deleted by age. GCS matches only prefixes and suffixes of object names,
 * and keys begin with the run id, so the rules match the checkpoint suffix (config.storage.checkpointSuffix).
 */
export function artifactLifecycleRules(
  storage: InfraConfig['storage'],
): gcp.types.input.storage.BucketLifecycleRule[] {
  const suffix = [storage.checkpointSuffix];
  return [
    // Live checkpoints older than the retention period.
    {
      action: { type: 'Delete' },
      condition: { age: storage.checkpointRetentionDays, matchesSuffixes: suffix },
    },
    // Versions of checkpoints that were replaced or deleted (versioning keeps them otherwise).
    {
      action: { type: 'Delete' },
      condition: {
        daysSinceNoncurrentTime: storage.noncurrentCheckpointDays,
        withState: 'ARCHIVED',
        matchesSuffixes: suffix,
      },
    },
    // Parts of uploads that never finished.
    { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: 1 } },
  ];
}

export function createStorage(config: InfraConfig, workers: { id: string; member: pulumi.Input<string> }[]) {
  const datasets = new PrivateBucket(`${config.name}-datasets`, {
    project: config.project,
    location: config.region,
    bucketName: config.storage.datasetsBucket,
    versioning: false,
    grants: Object.fromEntries(workers.map((w) => [`${w.id}-read`, { role: READ_ROLE, member: w.member }])),
  });
  const artifacts = new PrivateBucket(`${config.name}-artifacts`, {
    project: config.project,
    location: config.region,
    bucketName: config.storage.artifactsBucket,
    versioning: true,
    lifecycleRules: artifactLifecycleRules(config.storage),
    grants: Object.fromEntries(
      workers.map((w) => [`${w.id}-read-write`, { role: READ_WRITE_ROLE, member: w.member }]),
    ),
  });
  return { datasets, artifacts };
}
