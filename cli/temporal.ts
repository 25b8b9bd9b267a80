/**
 * How CLI commands reach Temporal: TEMPORAL_ADDRESS (and the TLS/API-key variables of docs/deploy.md 8)
 * when set; otherwise the local dev server of the runs folder, started on first use. Either way the command
 * says where it connected.
 */
import { Client, Connection } from '@temporalio/client';
import { parseWorkerEnv } from '../shared/config/worker-env.ts';
import { connectionSettings } from '../shared/temporal/connection.ts';
import { ensureLocalServer, findLocalServer } from '../shared/temporal/local-server.ts';
import { log } from './context.ts';

export interface TemporalSession {
  client: Client;
  address: string;
  namespace: string;
  /** The Web UI of the local dev server; null for a configured server. */
  uiUrl: string | null;
  /** True when this is the embedded local dev server (the CLI may host the workers itself). */
  local: boolean;
  close(): Promise<void>;
}

/** The Temporal part of the environment; the worker-only variables are not required here. */
export const clientEnv = (env: Record<string, string | undefined> = process.env) =>
  parseWorkerEnv({ HOPTM_TASK_QUEUE: 'hoptm-cpu', ...env });

/** The runs folder a local dev server belongs to: the local artifact store, or runs/. */
export const runsDirOf = (out: string | undefined): string =>
  out !== undefined && !out.includes('://') ? out : 'runs';

export async function connectTemporal(opts: { runsDir: string; start?: boolean }): Promise<TemporalSession> {
  const env = clientEnv();
  let address = env.TEMPORAL_ADDRESS;
  let uiUrl: string | null = null;
  if (address === undefined) {
    const server =
      opts.start === false ? await findLocalServer(opts.runsDir) : await ensureLocalServer(opts.runsDir);
    if (server === null)
      throw new Error(
        `no local Temporal server is running for ${opts.runsDir}/ (start one with 'hoptm server start', or set TEMPORAL_ADDRESS)`,
      );
    address = server.address;
    uiUrl = server.uiUrl;
    log(
      `temporal: ${server.started ? 'started the' : 'using the'} local dev server at ${address} (Web UI ${uiUrl})`,
    );
  } else log(`temporal: ${address}, namespace ${env.TEMPORAL_NAMESPACE}`);
  const settings = connectionSettings(address, env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...settings, connectTimeout: '5s' });
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${address}: ${(err as Error).message.split('\n')[0]}` +
        (env.TEMPORAL_ADDRESS ? ' (check TEMPORAL_ADDRESS, or unset it to use a local dev server)' : ''),
    );
  }
  return {
    client: new Client({ connection, namespace: settings.namespace }),
    address,
    namespace: settings.namespace,
    uiUrl,
    local: env.TEMPORAL_ADDRESS === undefined,
    close: () => connection.close(),
  };
}
