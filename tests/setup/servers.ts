/**
 * Global setup of the integration project: one real Temporal dev server and one fake-gcs-server for the
 * whole run, on free ports, stopped at the end (also when tests fail). Tests read the addresses with
 * `inject('temporalAddress')` / `inject('gcsEndpoint')`. Both binaries come from scripts/install-tools.sh;
 * a missing one fails the run with the command that builds it (never a skip).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  freePort,
  startDevServer,
  stopProcess,
  toolPath,
  ToolMissingError,
  waitForPort,
} from '../../shared/temporal/dev-server.ts';
import { workflowBundle } from '../../workers/bundle.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    gcsEndpoint: string;
    /** The workflow bundle's code, built once per test run. */
    workflowBundleCode: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'hoptm-it-'));
  const temporal = await startDevServer({
    dbFile: join(dir, 'temporal.db'),
    logFile: join(dir, 'temporal.log'),
  });

  const gcsBin = toolPath('fake-gcs-server');
  if (!existsSync(gcsBin)) {
    await temporal.stop();
    throw new ToolMissingError('fake-gcs-server', gcsBin);
  }
  const gcsPort = await freePort();
  const gcsEndpoint = `http://127.0.0.1:${gcsPort}`;
  const gcs = spawn(
    gcsBin,
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(gcsPort),
      '-external-url',
      gcsEndpoint,
      '-backend',
      'memory',
      '-log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitForPort('fake-gcs-server', '127.0.0.1', gcsPort, { child: gcs });
  } catch (err) {
    await temporal.stop();
    throw err;
  }

  const bundle = await workflowBundle().catch(async (err: unknown) => {
    await Promise.all([temporal.stop(), stopProcess(gcs)]);
    throw err;
  });
  project.provide('workflowBundleCode', bundle.code);
  project.provide('temporalAddress', temporal.address);
  project.provide('gcsEndpoint', gcsEndpoint);
  return async () => {
    await Promise.all([temporal.stop(), stopProcess(gcs)]);
    rmSync(dir, { recursive: true, force: true });
  };
}
