/**
 * Bad input gets one clear message and loses nothing: through the real CLI (a child process, as a user
 * runs it) and through the workflow against the real dev server. No stack traces, no partial artifacts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { freePort } from '../../shared/temporal/dev-server.ts';
import { runStatus, triggerRun } from '../../shared/temporal/runs.ts';
import { writePathmnist } from './dataset-files.ts';
import {
  connectClient,
  inProcessWorkers,
  isolatedPipeline,
  ROOT,
  tempStore,
  tinyMedmnistConfig,
  tinyRequest,
} from './pipeline-harness.ts';
import { runRequest } from '../../shared/temporal/run-request.ts';
import { loadRunData } from '../../shared/method/pipeline/data.ts';

let client: Client;
beforeAll(async () => {
  client = await connectClient();
});
afterAll(async () => {
  await client.connection.close();
});

/** Runs the hoptm CLI as a user would; returns its exit code and what it printed. */
function hoptm(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/index.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** One clear line on stderr, no stack trace. */
function expectOneLineError(r: ReturnType<typeof hoptm>, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('hoptm: error:'));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('the CLI refuses bad input with one clear line', () => {
  it('an unreachable Temporal address', async () => {
    const port = await freePort();
    expectOneLineError(
      hoptm(['list'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` }),
      new RegExp(`cannot reach Temporal at 127.0.0.1:${port}`),
    );
  });

  it('an unknown run id', () => {
    expectOneLineError(
      hoptm(['status', 'hoptm-000000000000-000000000000']),
      /no run 'hoptm-000000000000-000000000000'/,
    );
  });

  it('an invalid schedule interval, and a duplicate schedule id', () => {
    expectOneLineError(
      hoptm(['schedule', 'create', '--preset', 'mnist-ci', '--every', '5x']),
      /--every "5x": expected a whole number/,
    );
    const id = `dup-${Math.random().toString(36).slice(2, 8)}`;
    const args = [
      'schedule',
      'create',
      '--preset',
      'mnist-ci',
      '--every',
      '1d',
      '--id',
      id,
      '--out',
      tempStore(),
    ];
    expect(hoptm(args).code).toBe(0);
    expectOneLineError(hoptm(args), new RegExp(`schedule '${id}' already exists`));
    expect(hoptm(['schedule', 'delete', id]).code).toBe(0);
  });

  it('a config that fails the schema, and a missing dataset', () => {
    expectOneLineError(hoptm(['run', '--preset', 'mnist-ci', '--set', 'distill.ipc=0']), /distill\.ipc/);
    const missing = join(tmpdir(), 'no-such-dir', 'pathmnist.npz');
    expectOneLineError(
      hoptm(['run', '--preset', 'pathmnist-ipc1', '--set', `dataset.path=${missing}`]),
      new RegExp(missing.replace(/[.]/g, '\\.')),
    );
  });

  it('cancelling a finished run', async () => {
    const store = tempStore();
    const pipeline = isolatedPipeline('cancel');
    const req = await tinyRequest(
      store,
      ['experts.count=1', 'distill.iterations=1', 'evaluate.epochs=1'],
      pipeline,
    );
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil((await triggerRun(client, req)).handle.result());
    expectOneLineError(
      hoptm(['cancel', req.runId]),
      new RegExp(`cannot cancel run '${req.runId}': it is completed`),
    );
  });

  it('a worker started with a missing and an invalid environment variable names both', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'workers/gpu-worker.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOPTM_MAX_CONCURRENT_ACTIVITIES: 'two' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/invalid worker environment/);
    expect(r.stderr).toMatch(/HOPTM_TASK_QUEUE=null/);
    expect(r.stderr).toMatch(/HOPTM_MAX_CONCURRENT_ACTIVITIES="two"/);
  });
});

describe('the pipeline fails bad input without retrying, with the message a user needs', () => {
  it('a dataset corrupted after the trigger fails the run; hoptm status shows why; nothing partial is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoptm-corrupt-'));
    const path = join(dir, 'pathmnist.npz');
    writePathmnist(path, 1);
    const store = tempStore();
    const pipeline = isolatedPipeline('corrupt');
    const config = tinyMedmnistConfig(path);
    const req = runRequest({ preset: 'test', config, store, pipeline }, await loadRunData(config));
    const { handle } = await triggerRun(client, req);
    truncateSync(path, 100);
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil(handle.result().catch(() => undefined));
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('FAILED');
    expect(status.error).toContain(path);
    const cli = hoptm(['status', req.runId]);
    expect(cli.stdout).toMatch(/failed/);
    expect(cli.stdout).toContain(path);
    expect(existsSync(join(store, req.runId)) ? readdirSync(join(store, req.runId)) : []).toEqual([]);
  });

  it('data changed under a running run stops it: the content hash no longer matches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoptm-changed-'));
    const path = join(dir, 'pathmnist.npz');
    writePathmnist(path, 1);
    const pipeline = isolatedPipeline('changed');
    const config = tinyMedmnistConfig(path);
    const req = runRequest(
      { preset: 'test', config, store: tempStore(), pipeline },
      await loadRunData(config),
    );
    const { handle } = await triggerRun(client, req);
    writePathmnist(path, 2);
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil(handle.result().catch(() => undefined));
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('FAILED');
    expect(status.error).toMatch(
      /changed under run .* content hash was [0-9a-f]{12} when the run started and is [0-9a-f]{12} now/,
    );
  });

  it('a truncated distillation checkpoint fails the run naming the checkpoint', async () => {
    const store = tempStore();
    const pipeline = isolatedPipeline('truncated');
    const req = await tinyRequest(store, [], pipeline);
    const ckpt = join(store, req.runId, 'distill/main/checkpoint');
    // The state of an earlier attempt: a pointer to a checkpoint whose bytes were cut short.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(ckpt, { recursive: true });
    writeFileSync(join(ckpt, '000002.ckpt'), Buffer.from('{"trunc'));
    writeFileSync(
      join(ckpt, 'latest.json'),
      JSON.stringify({ iteration: 2, key: `${req.runId}/distill/main/checkpoint/000002.ckpt` }),
    );
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil((await triggerRun(client, req)).handle.result().catch(() => undefined));
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('FAILED');
    expect(status.error).toContain('000002.ckpt');
  });

  it('a refusing publish gate fails the run naming its reasons; the report is still written', async () => {
    const store = tempStore();
    const pipeline = isolatedPipeline('gate');
    const req = await tinyRequest(store, ['audit.gate.enabled=true', 'audit.gate.maxAuc=0'], pipeline);
    const workers = await inProcessWorkers({ pipeline });
    await workers.runUntil((await triggerRun(client, req)).handle.result().catch(() => undefined));
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('FAILED');
    expect(status.error).toMatch(/publish gate: run .* is not published/);
    expect(status.error).toMatch(/AUC/);
    expect(existsSync(join(store, req.runId, 'results/main/report.html'))).toBe(true);
    expect(
      JSON.parse(readFileSync(join(store, req.runId, 'results/main/publish.json'), 'utf8')).published,
    ).toBe(false);
    expect(existsSync(join(store, req.runId, 'manifest.json'))).toBe(false);
  });

  it('a store in a missing bucket fails the run before any work', async () => {
    const pipeline = isolatedPipeline('bucket');
    const req = await tinyRequest(`gs://no-such-bucket-${Date.now()}/runs`, [], pipeline);
    const workers = await inProcessWorkers({ pipeline, gcsEndpoint: inject('gcsEndpoint') });
    await workers.runUntil((await triggerRun(client, req)).handle.result().catch(() => undefined));
    const status = await runStatus(client, req.runId);
    expect(status.status).toBe('FAILED');
    expect(status.error).toMatch(/no-such-bucket/);
  });
});
