// The stack configuration: defaults, derived values, and errors that name what is wrong.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { parseConfig, type RawConfig } from '../config';
import { gpuCatalogue, gpuTypes, podsPerNode } from '../gpu';
import { BASE_CONFIG, runProgram } from './harness';

const minimal: RawConfig = { project: 'p', temporal: { address: 'temporal:7233' } };
const withPools = (gpuPools: RawConfig['gpuPools'], extra: Partial<RawConfig> = {}) => ({
  ...minimal,
  gpuPools,
  ...extra,
});

describe('defaults', () => {
  const c = parseConfig(minimal);

  it('one spot nvidia-l4 pool that scales 0..4 on g2-standard-8 in three zones of us-central1', () => {
    expect(c.gpuPools).toEqual([
      expect.objectContaining({
        name: 'l4-spot',
        gpuType: 'nvidia-l4',
        gpuCount: 1,
        machineType: 'g2-standard-8',
        minNodes: 0,
        maxNodes: 4,
        spot: true,
        zones: ['us-central1-a', 'us-central1-b', 'us-central1-c'],
        driverVersion: 'LATEST',
      }),
    ]);
  });

  it('checkpoints every 120 s; the worker gets interval + write time, the pod 30 s more', () => {
    expect(c.checkpointIntervalSeconds).toBe(120);
    expect(c.workerShutdownGraceSeconds).toBe(180);
    expect(c.terminationGracePeriodSeconds).toBe(210);
  });

  it('derives bucket names from the project and the stack name', () => {
    expect([c.storage.datasetsBucket, c.storage.artifactsBucket]).toEqual([
      'p-hoptm-datasets',
      'p-hoptm-artifacts',
    ]);
  });

  it('self-hosted Temporal in the default namespace, task queues hoptm-gpu and hoptm-cpu', () => {
    expect(c.temporal).toEqual({
      address: 'temporal:7233',
      namespace: 'default',
      auth: 'none',
      gpuTaskQueue: 'hoptm-gpu',
      cpuTaskQueue: 'hoptm-cpu',
    });
  });

  it('tags images with the version of the root package.json', () => {
    const root = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
      version: string;
    };
    expect([c.images.cpuTag, c.images.gpuTag]).toEqual([root.version, root.version]);
  });

  it('the default GPU worker fits on the default machine of every GPU type and count', () => {
    const pod = { cpu: c.gpuWorker.cpu, memoryGiB: c.gpuWorker.memoryGiB, gpus: c.gpuWorker.gpusPerWorker };
    for (const type of gpuTypes) {
      const facts = gpuCatalogue[type];
      for (const count of facts.counts) {
        const machine = facts.defaultMachine[count] as string;
        expect(
          podsPerNode(facts.machines[machine]!, count, pod),
          `${type} x${count} on ${machine}`,
        ).toBeGreaterThanOrEqual(1);
      }
    }
  });
});

describe('derived values', () => {
  it('picks the machine type that carries the GPU count', () => {
    const c = parseConfig(
      withPools([
        { gpuType: 'nvidia-tesla-a100', gpuCount: 4 },
        { gpuType: 'nvidia-tesla-t4', gpuCount: 2 },
      ]),
    );
    expect(c.gpuPools.map((p) => [p.name, p.machineType])).toEqual([
      ['a100-spot', 'a2-highgpu-4g'],
      ['t4-spot', 'n1-standard-16'],
    ]);
  });

  it('defaults the zones to the region', () => {
    expect(parseConfig({ ...minimal, region: 'europe-west4' }).zones).toEqual([
      'europe-west4-a',
      'europe-west4-b',
      'europe-west4-c',
    ]);
  });
});

describe('errors name the offending keys and values', () => {
  const error = (raw: unknown, secrets = {}) => {
    try {
      parseConfig(raw, secrets);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected parseConfig to throw');
  };

  it('a zone outside the region', () => {
    expect(error({ ...minimal, zones: ['us-central1-a', 'europe-west4-b'] })).toMatch(
      /zones not in us-central1: europe-west4-b/,
    );
  });

  it('a GPU count the GPU does not come in', () => {
    expect(error(withPools([{ gpuType: 'nvidia-tesla-t4', gpuCount: 3 }]))).toMatch(
      /nvidia-tesla-t4 nodes take 1, 2, 4 GPUs, not 3[\s\S]*gpuPools\[0\]/,
    );
  });

  it('a machine type that cannot carry the GPU', () => {
    expect(error(withPools([{ gpuType: 'nvidia-tesla-t4', machineType: 'g2-standard-8' }]))).toMatch(
      /machine type g2-standard-8 cannot carry nvidia-tesla-t4/,
    );
  });

  it('a machine type with a different number of GPUs', () => {
    expect(error(withPools([{ gpuType: 'nvidia-l4', gpuCount: 2, machineType: 'g2-standard-8' }]))).toMatch(
      /g2-standard-8 comes with 1 GPU\(s\), not 2/,
    );
  });

  it('a GPU worker that does not fit on the pool machine', () => {
    expect(error(withPools([{ machineType: 'g2-standard-4' }]))).toMatch(/does not fit on g2-standard-4/);
  });

  it('a pool zone outside the cluster zones', () => {
    expect(error(withPools([{ zones: ['us-central1-f'] }]))).toMatch(
      /not among the cluster's zones: us-central1-f/,
    );
  });

  it('two pools with the same name', () => {
    expect(error(withPools([{}, {}]))).toMatch(/duplicate pool names: l4-spot/);
  });

  it('a mistyped key', () => {
    expect(error(withPools([{ gpuTyp: 'nvidia-l4' } as never]))).toMatch(/gpuTyp/);
  });

  it('an unknown GPU type', () => {
    expect(error(withPools([{ gpuType: 'nvidia-h100' as never }]))).toMatch(/gpuType/);
  });

  it('a Temporal address without a port', () => {
    expect(error({ ...minimal, temporal: { address: 'temporal.example.org' } })).toMatch(/temporal\.address/);
  });

  it('API-key auth without the API key secret', () => {
    expect(error({ ...minimal, temporal: { address: 't:7233', auth: 'apiKey' } })).toMatch(
      /hoptm:temporalApiKey is not set/,
    );
  });

  it('mTLS without the key', () => {
    expect(
      error(
        { ...minimal, temporal: { address: 't:7233', auth: 'mtls' } },
        { tlsCert: pulumi.output('CERT') },
      ),
    ).toMatch(/hoptm:temporalTlsKey is not set/);
  });

  it('a stack without a Temporal address refuses to run', async () => {
    const config = { ...BASE_CONFIG };
    delete config['hoptm:temporal'];
    await expect(runProgram(config)).rejects.toThrow(/hoptm:temporal/);
  });
});
