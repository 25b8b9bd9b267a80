import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../shared/config/index.ts';
import { parseWorkerEnv, workerRole } from '../../shared/config/worker-env.ts';
import { parseInterval } from '../../cli/commands/schedule.ts';
import { runWorkflowId } from '../../workflows/ids.ts';
import { distillSlices, stageCount } from '../../workflows/plan.ts';

describe('distillSlices', () => {
  const cfg = resolveConfig('mnist-ipc1', ['distill.iterations=200', 'distill.mask.growEvery=20']);

  it('cuts one slice per easy-to-complex stage, covering 0..iterations exactly once', () => {
    const slices = distillSlices(cfg, 0);
    expect(slices).toHaveLength(11);
    expect(stageCount(cfg)).toBe(11);
    expect(slices[0]).toEqual({ stage: 1, from: 0, until: 20 });
    expect(slices[10]).toEqual({ stage: 11, from: 200, until: 201 });
    slices.forEach((s, i) => i > 0 && expect(s.from).toBe(slices[i - 1]!.until));
  });

  it('sliceIterations overrides the stage length', () => {
    const slices = distillSlices(cfg, 64);
    expect(slices.map((s) => [s.from, s.until])).toEqual([
      [0, 64],
      [64, 128],
      [128, 192],
      [192, 201],
    ]);
    expect(slices.map((s) => s.stage)).toEqual([1, 4, 7, 10]);
  });
});

describe('runWorkflowId', () => {
  it('joins the first 12 hex digits of both hashes', () => {
    expect(runWorkflowId('a'.repeat(64), 'b'.repeat(64))).toBe('hoptm-aaaaaaaaaaaa-bbbbbbbbbbbb');
  });
  it('throws when a hash is not hex', () => {
    expect(() => runWorkflowId('xyz', 'b'.repeat(64))).toThrow(
      "expected a hex config hash of at least 12 digits, got 'xyz'",
    );
  });
});

describe('parseWorkerEnv', () => {
  it('applies the defaults of docs/deploy.md 8 and derives the role from the queue', () => {
    const env = parseWorkerEnv({ HOPTM_TASK_QUEUE: 'hoptm-gpu' });
    expect(env).toMatchObject({
      TEMPORAL_NAMESPACE: 'default',
      HOPTM_BACKEND: 'auto',
      HOPTM_MAX_CONCURRENT_ACTIVITIES: 1,
      HOPTM_SHUTDOWN_GRACE_SECONDS: 25,
    });
    expect(workerRole(env)).toBe('gpu');
  });
  it('lists every invalid variable at once', () => {
    expect(() =>
      parseWorkerEnv({
        HOPTM_BACKEND: 'tpu',
        HOPTM_CHECKPOINT_INTERVAL_SECONDS: '-1',
        TEMPORAL_TLS_CERT: '/c.pem',
      }),
    ).toThrowErrorMatchingInlineSnapshot(`
      [WorkerEnvError: invalid worker environment:
        HOPTM_TASK_QUEUE=null: Invalid input: expected string, received undefined
        HOPTM_BACKEND="tpu": Invalid option: expected one of "cpu"|"wasm"|"webgpu"|"tensorflow"|"auto"
        HOPTM_CHECKPOINT_INTERVAL_SECONDS="-1": Too small: expected number to be >0]
    `);
  });
});

describe('parseInterval', () => {
  it('accepts whole s/m/h/d durations of a minute or more', () => {
    expect(['60s', '30m', '6h', '1d'].map(parseInterval)).toEqual(['60s', '30m', '6h', '1d']);
  });
  it.each(['5x', '10s', '1.5h', '', 'h'])('refuses %j', (every) => {
    expect(() => parseInterval(every)).toThrow(
      /expected a whole number with s, m, h or d, at least 1 minute/,
    );
  });
});
