/**
 * The local Temporal dev server the CLI uses when no TEMPORAL_ADDRESS is configured: started once per runs
 * folder (its SQLite file lives there, so runs survive restarts), detached so that `hoptm status` and later
 * commands find it again, and reused while it answers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { freePort, isListening, startDevServer } from './dev-server.ts';

const stateSchema = z.object({ address: z.string(), uiUrl: z.string(), pid: z.number().int() });
export type LocalServer = z.infer<typeof stateSchema> & { started: boolean };

/** Reuses the runs folder's dev server if it answers, else starts one (port 7233 when free). */
export async function ensureLocalServer(runsDir: string): Promise<LocalServer> {
  const dir = resolve(runsDir, 'temporal');
  const stateFile = join(dir, 'server.json');
  if (existsSync(stateFile)) {
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(stateFile, 'utf8')));
    if (parsed.success) {
      const [host, port] = parsed.data.address.split(':');
      if (await isListening(host!, Number(port))) return { ...parsed.data, started: false };
    }
  }
  mkdirSync(dir, { recursive: true });
  const port = (await isListening('127.0.0.1', 7233)) ? await freePort() : 7233;
  const uiPort = (await isListening('127.0.0.1', port + 1000)) ? await freePort() : port + 1000;
  const server = await startDevServer({
    dbFile: join(dir, 'temporal.db'),
    port,
    uiPort,
    logFile: join(dir, 'server.log'),
    detached: true,
  });
  const state = { address: server.address, uiUrl: server.uiUrl, pid: server.pid };
  writeFileSync(stateFile, `${JSON.stringify(state)}\n`);
  return { ...state, started: true };
}

/** The runs folder's dev server, if one was started and still answers (for `hoptm server stop|status`). */
export async function findLocalServer(runsDir: string): Promise<LocalServer | null> {
  const stateFile = join(resolve(runsDir, 'temporal'), 'server.json');
  if (!existsSync(stateFile)) return null;
  const parsed = stateSchema.safeParse(JSON.parse(readFileSync(stateFile, 'utf8')));
  if (!parsed.success) return null;
  const [host, port] = parsed.data.address.split(':');
  return (await isListening(host!, Number(port))) ? { ...parsed.data, started: false } : null;
}
