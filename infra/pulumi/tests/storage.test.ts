// Buckets are private, artifacts are versioned, and lifecycle rules expire checkpoints and nothing else.
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, REGION, TYPES, expectEvery, runProgram, type Program, type Recorded } from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any -- lifecycle rules are provider JSON */
interface StoredObject {
  key: string;
  ageDays: number;
  live: boolean;
  /** Days since it became noncurrent (only for !live). */
  noncurrentDays?: number;
}

/**
 * GCS lifecycle semantics for the conditions this program uses: a rule applies when all of its conditions
 * hold. A condition this function does not model fails the test, so a new kind of rule needs a new check.
 */
function ruleApplies(rule: any, object: StoredObject): boolean {
  const c = rule.condition ?? {};
  const modelled = new Set([
    'age',
    'matchesPrefixes',
    'matchesSuffixes',
    'withState',
    'daysSinceNoncurrentTime',
  ]);
  const unknown = Object.keys(c).filter((k) => c[k] !== undefined && !modelled.has(k));
  if (unknown.length > 0)
    throw new Error(`lifecycle condition(s) not modelled by this test: ${unknown.join(', ')}`);
  if (c.age !== undefined && object.ageDays < c.age) return false;
  if (c.matchesPrefixes && !c.matchesPrefixes.some((p: string) => object.key.startsWith(p))) return false;
  if (c.matchesSuffixes && !c.matchesSuffixes.some((s: string) => object.key.endsWith(s))) return false;
  const state = c.withState ?? (c.daysSinceNoncurrentTime !== undefined ? 'ARCHIVED' : 'ANY');
  if (state === 'LIVE' && !object.live) return false;
  if (state === 'ARCHIVED' && object.live) return false;
  if (
    c.daysSinceNoncurrentTime !== undefined &&
    (object.live || (object.noncurrentDays ?? 0) < c.daysSinceNoncurrentTime)
  ) {
    return false;
  }
  return true;
}

const deletes = (bucket: Recorded, object: StoredObject) =>
  (bucket.inputs.lifecycleRules ?? []).some((r: any) => r.action.type === 'Delete' && ruleApplies(r, object));

const FOREVER = 100_000;
const keptForever: StoredObject[] = [
  { key: 'run-7/results/distilled.npz', ageDays: FOREVER, live: true },
  { key: 'run-7/results/metrics.jsonl', ageDays: FOREVER, live: false, noncurrentDays: FOREVER },
  { key: 'run-7/results/stage-2.ckpt.json', ageDays: FOREVER, live: true },
  { key: 'run-7/expert/3/epoch/15/params.bin', ageDays: FOREVER, live: true },
  { key: 'run-7/distill/stage-1/metrics.jsonl', ageDays: FOREVER, live: true },
];

describe('default stack', () => {
  let program: Program;
  let buckets: Recorded[];
  let artifacts: Recorded;
  beforeAll(async () => {
    program = await runProgram();
    buckets = program.ofType(TYPES.bucket);
    artifacts = program.named(TYPES.bucket, 'hoptm-test-hoptm-artifacts');
  });

  it('creates a datasets and an artifacts bucket in the region', () => {
    expect(buckets.map((b) => b.inputs.name).sort()).toEqual([
      'hoptm-test-hoptm-artifacts',
      'hoptm-test-hoptm-datasets',
    ]);
    expectEvery(
      'buckets are regional, next to the GPUs',
      buckets,
      (b) => b.inputs.location !== REGION && b.inputs.location,
    );
  });

  it('every bucket enforces public access prevention', () => {
    expectEvery(
      'public access prevention',
      buckets,
      (b) =>
        b.inputs.publicAccessPrevention !== 'enforced' &&
        `publicAccessPrevention ${b.inputs.publicAccessPrevention}`,
    );
  });

  it('every bucket uses uniform bucket-level access (no object ACLs)', () => {
    expectEvery(
      'uniform access',
      buckets,
      (b) => b.inputs.uniformBucketLevelAccess !== true && 'fine-grained ACLs',
    );
  });

  it('no bucket can be destroyed with its data', () => {
    expectEvery('no force destroy', buckets, (b) => b.inputs.forceDestroy === true && 'forceDestroy');
  });

  it('the artifacts bucket is versioned', () => {
    expect(artifacts.inputs.versioning?.enabled, artifacts.urn).toBe(true);
  });

  it('the lifecycle deletes live checkpoints after the retention period, not before', () => {
    const ckpt = 'run-7/distill/stage-1/checkpoint/step-000400.ckpt';
    expect(
      deletes(artifacts, { key: ckpt, ageDays: 7, live: true }),
      `${artifacts.urn}: checkpoint at 7 days`,
    ).toBe(true);
    expect(
      deletes(artifacts, { key: ckpt, ageDays: 6, live: true }),
      `${artifacts.urn}: checkpoint at 6 days`,
    ).toBe(false);
    expect(
      deletes(artifacts, { key: ckpt, ageDays: 0, live: false, noncurrentDays: 1 }),
      `${artifacts.urn}: old version`,
    ).toBe(true);
  });

  it('no lifecycle rule ever deletes results, experts or anything that is not a checkpoint', () => {
    expectEvery('results are never expired', buckets, (b) => {
      const hit = keptForever
        .filter((o) => deletes(b, o))
        .map((o) => `${o.key} (${o.live ? 'live' : 'noncurrent'})`);
      return hit.length > 0 && `would delete ${hit.join(', ')}`;
    });
  });

  it('no lifecycle rule changes the storage class of results', () => {
    expectEvery('only Delete and AbortIncompleteMultipartUpload actions', buckets, (b) => {
      const other = (b.inputs.lifecycleRules ?? []).filter(
        (r: any) => !['Delete', 'AbortIncompleteMultipartUpload'].includes(r.action.type),
      );
      return other.length > 0 && `actions ${other.map((r: any) => r.action.type).join(', ')}`;
    });
  });

  it('the datasets bucket has no delete rule', () => {
    const datasets = program.named(TYPES.bucket, 'hoptm-test-hoptm-datasets');
    expect(
      (datasets.inputs.lifecycleRules ?? []).filter((r: any) => r.action.type === 'Delete'),
      datasets.urn,
    ).toEqual([]);
  });
});

describe('retention from the stack configuration', () => {
  it('expires checkpoints after the configured number of days', async () => {
    const program = await runProgram({ ...BASE_CONFIG, 'hoptm:storage': { checkpointRetentionDays: 30 } });
    const artifacts = program.named(TYPES.bucket, 'hoptm-test-hoptm-artifacts');
    const ckpt = 'run-1/distill/stage-0/checkpoint/manifest.ckpt';
    expect(deletes(artifacts, { key: ckpt, ageDays: 29, live: true }), artifacts.urn).toBe(false);
    expect(deletes(artifacts, { key: ckpt, ageDays: 30, live: true }), artifacts.urn).toBe(true);
  });
});
