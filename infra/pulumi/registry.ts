// Artifact Registry for the worker images. Tags are immutable (a tag always means the same image), untagged
// images are cleaned up, and only the node service account may pull.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config';

export function createRegistry(config: InfraConfig, nodeMember: pulumi.Input<string>) {
  const repository = new gcp.artifactregistry.Repository(`${config.name}-images`, {
    project: config.project,
    location: config.region,
    repositoryId: config.name,
    format: 'DOCKER',
    description: 'HoP-TM worker images (cpu and gpu targets of the root Dockerfile)',
    dockerConfig: { immutableTags: true },
    cleanupPolicyDryRun: false,
    cleanupPolicies: [
      {
        id: 'delete-untagged',
        action: 'DELETE',
        condition: { tagState: 'UNTAGGED', olderThan: `${14 * 24 * 3600}s` },
      },
      { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: 10 } },
    ],
  });
  new gcp.artifactregistry.RepositoryIamMember(`${config.name}-images-node-pull`, {
    project: config.project,
    location: config.region,
    repository: repository.name,
    role: 'roles/artifactregistry.reader',
    member: nodeMember,
  });
  const url = pulumi.interpolate`${config.region}-docker.pkg.dev/${config.project}/${repository.repositoryId}`;
  return { repository, url };
}
