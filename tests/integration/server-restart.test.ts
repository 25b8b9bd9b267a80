/**
 * The Temporal server itself goes down mid-run: the dev server is killed and restarted on its SQLite file
 * (same port); the workers reconnect and the run completes from where the history says it was.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer, type DevServer } from '../../shared/temporal/dev-server.ts';
import { runStatus, triggerRun } from '../../shared/temporal/runs.ts';
import { inProcessWorkers, isolatedPipeline, tempStore, tinyRequest } from './pipeline-harness.ts';

describe('dev server restart', () => {
  it('a run survives the server being killed and restarted on its database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoptm-restart-'));
    const port = await freePort();
    const opts = { dbFile: join(dir, 'temporal.db'), port, uiPort: await freePort() };
    let server: DevServer = await startDevServer(opts);
    const address = server.address;
    const pipeline = isolatedPipeline('restart');
    const req = await tinyRequest(
      tempStore(),
      ['distill.iterations=15', 'distill.mask.growEvery=4'],
      pipeline,
    );
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    try {
      const workers = await inProcessWorkers({ pipeline, address });
      await workers.runUntil(
        (async () => {
          await triggerRun(client, req);
          // Wait until the run is in its distillation phase, then take the server away.
          for (;;) {
            const s = await runStatus(client, req.runId);
            if ((s.progress?.distill.done ?? 0) > 0) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          server.child.kill('SIGKILL');
          await new Promise((r) => server.child.once('exit', r));
          await new Promise((r) => setTimeout(r, 2000));
          server = await startDevServer(opts);
          expect(server.address).toBe(address);
          await client.workflow.getHandle(req.runId).result();
        })(),
      );
      const s = await runStatus(client, req.runId);
      expect(s.status).toBe('COMPLETED');
      expect(s.progress?.distill.done).toBe(16);
    } finally {
      await connection.close();
      await server.stop();
    }
  });
});
