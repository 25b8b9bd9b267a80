// A GCS bucket that cannot be made public, with its IAM grants: uniform bucket-level access (no object ACLs),
// public access prevention enforced, and one non-authoritative IAM member per grant, so the bucket's policy
// is exactly what this program and the project's owners grant.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface BucketGrant {
  role: string;
  member: pulumi.Input<string>;
}

export interface PrivateBucketArgs {
  project: string;
  location: string;
  bucketName: string;
  versioning: boolean;
  lifecycleRules?: gcp.types.input.storage.BucketLifecycleRule[];
  /** Grants by a stable id (the id names the IAM resource). */
  grants: Record<string, BucketGrant>;
}

export class PrivateBucket extends pulumi.ComponentResource {
  public readonly bucket: gcp.storage.Bucket;
  public readonly bucketName: pulumi.Output<string>;
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: PrivateBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('hoptm:storage:PrivateBucket', name, {}, opts);
    this.bucket = new gcp.storage.Bucket(
      `${name}-bucket`,
      {
        project: args.project,
        name: args.bucketName,
        location: args.location,
        storageClass: 'STANDARD',
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: args.versioning },
        lifecycleRules: args.lifecycleRules ?? [],
        // Data outlives a `pulumi destroy` unless someone empties the bucket first.
        forceDestroy: false,
      },
      { parent: this },
    );
    for (const [id, grant] of Object.entries(args.grants)) {
      new gcp.storage.BucketIAMMember(
        `${name}-${id}`,
        { bucket: this.bucket.name, role: grant.role, member: grant.member },
        { parent: this },
      );
    }
    this.bucketName = this.bucket.name;
    this.url = pulumi.interpolate`gs://${this.bucket.name}`;
    this.registerOutputs({ bucketName: this.bucketName, url: this.url });
  }
}
