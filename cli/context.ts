import { resolveConfig, type RunConfig } from '../shared/config/index.ts';
import {
  initBackend,
  parseBackendChoice,
  tensorflowThreadsFor,
  type BackendInfo,
} from '../shared/engine/backends/index.ts';
import { openStore } from '../shared/storage/index.ts';
import type { ArtifactStore } from '../shared/storage/store.ts';
import { loadRunData, type RunData } from '../shared/method/pipeline/data.ts';
import { overridesOf } from './args.ts';

export interface RunContext {
  config: RunConfig;
  runId: string;
  store: ArtifactStore;
  backend: BackendInfo;
  data: RunData;
}

export const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** Resolves the config, starts the backend once, opens the store and loads the data, logging each choice. */
export async function createContext(
  args: { preset: string; out: string; run?: string; backend: string },
  rawArgs: readonly string[],
): Promise<RunContext> {
  const config = resolveConfig(args.preset, overridesOf(rawArgs));
  const data = await loadRunData(config);
  const backend = await initBackend(parseBackendChoice(args.backend), log, {
    tensorflowThreads: tensorflowThreadsFor(data.model),
  });
  const store = await openStore(args.out, { gcsEndpoint: process.env.HOPTM_GCS_ENDPOINT });
  const runId = args.run ?? config.name;
  log(`run '${runId}' in ${store.location}`);
  const m = data.dataset.manifest;
  log(
    `data: ${m.name}, ${m.counts.train.total} train / ${m.counts.test.total} test images, input ${m.inputShape.join('x')}, ${m.numClasses} classes`,
  );
  return { config, runId, store, backend, data };
}
