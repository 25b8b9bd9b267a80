/**
 * The Temporal dev server (the Temporal CLI's `server start-dev`: SQLite persistence, Web UI, Schedules),
 * started by the CLI when no TEMPORAL_ADDRESS is configured and by the test suite's global setup. The binary
 * is built by scripts/install-tools.sh into .tools/bin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTES } from './search-attributes.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where scripts/install-tools.sh puts a tool (HOPTM_TOOLS_DIR overrides .tools). */
export function toolPath(name: 'temporal' | 'fake-gcs-server', toolsDir?: string): string {
  return resolve(toolsDir ?? resolve(REPO_ROOT, '.tools'), 'bin', name);
}

export class ToolMissingError extends Error {
  override readonly name = 'ToolMissingError';
  constructor(
    readonly tool: string,
    readonly path: string,
  ) {
    super(
      `${tool} not found at ${path}: build it with 'bash scripts/install-tools.sh ${tool}' (minutes, once)`,
    );
  }
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return await new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export async function isListening(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return await new Promise((ok) => {
    const sock = connect({ host, port });
    const done = (v: boolean): void => {
      sock.destroy();
      ok(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Polls until host:port accepts connections; fails naming what it waited for, or why the process died. */
export async function waitForPort(
  what: string,
  host: string,
  port: number,
  opts: { timeoutMs?: number; child?: ChildProcess } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (opts.child && opts.child.exitCode !== null)
      throw new Error(`${what} exited with code ${opts.child.exitCode} before listening on ${host}:${port}`);
    if (await isListening(host, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${host}:${port} within ${opts.timeoutMs ?? 30_000} ms`);
}

export interface DevServerOptions {
  /** The SQLite file that persists every workflow: restart on it and runs continue. */
  dbFile: string;
  port?: number;
  /** The Web UI port (default port + 1000, the CLI's own default). */
  uiPort?: number;
  host?: string;
  binary?: string;
  /** Where the server's output goes (default: discarded). */
  logFile?: string;
  /** Detached: the server outlives this process (the CLI's local server); otherwise it dies with us. */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  pid: number;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  stop(): Promise<void>;
}

/** Starts the dev server and resolves once its frontend accepts connections. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const binary = opts.binary ?? toolPath('temporal');
  if (!existsSync(binary)) throw new ToolMissingError('temporal', binary);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? port + 1000;
  mkdirSync(dirname(opts.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    opts.dbFile,
    '--log-level',
    'error',
    ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]),
  ];
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(binary, args, { stdio: ['ignore', out, out], detached: opts.detached ?? false });
  if (opts.detached) child.unref();
  try {
    await waitForPort('the Temporal dev server', host, port, { child, timeoutMs: 60_000 });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address: `${host}:${port}`,
    uiUrl: `http://${host}:${uiPort}`,
    pid: child.pid!,
    child,
    stop: () => stopProcess(child),
  };
}

/** SIGTERM, SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
