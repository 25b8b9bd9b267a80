/**
 * A worker's view of a run's data: loaded once per worker and dataset (activities of one run share it), and
 * checked against the content hash the run was started for, so data that changed under a running run fails
 * it clearly instead of mixing two datasets in one result.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../shared/config/digest.ts';
import type { RunConfig } from '../shared/config/schema.ts';
import { loadRunData, type RunData } from '../shared/method/pipeline/data.ts';
import { DatasetChangedError } from './failures.ts';

const cache = new Map<string, Promise<RunData>>();

/** Sizes and mtimes of the dataset's files: a cheap sign that it changed since it was cached. */
async function fingerprint(spec: RunConfig['dataset']): Promise<string> {
  const path = spec.kind === 'medmnist' ? spec.path : spec.kind === 'image-folder' ? spec.root : null;
  if (path === null) return 'package';
  const s = await stat(path).catch(() => null);
  if (s === null) return 'missing';
  if (!s.isDirectory()) return `${s.size}:${s.mtimeMs}`;
  const files = await readdir(path, { recursive: true });
  const parts = await Promise.all(
    files.sort().map(async (f) => {
      const fs = await stat(join(path, f)).catch(() => null);
      return fs === null ? `${f}:gone` : `${f}:${fs.size}:${fs.mtimeMs}`;
    }),
  );
  return parts.join('|');
}

/** Loads (or reuses) the run's data and checks its content hash. */
export async function runDataFor(cfg: RunConfig, expectedHash: string, runId: string): Promise<RunData> {
  const key = `${canonicalJson(cfg.dataset)}|${canonicalJson(cfg.model)}|${await fingerprint(cfg.dataset)}`;
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = loadRunData(cfg);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  const data = await pending;
  const found = data.dataset.manifest.contentHash;
  if (found !== expectedHash)
    throw new DatasetChangedError(
      `dataset ${data.dataset.manifest.name} changed under run ${runId}: its content hash was ` +
        `${expectedHash.slice(0, 12)} when the run started and is ${found.slice(0, 12)} now; ` +
        `the run stops rather than mix two datasets (start a new run for the new data: hoptm data-arrived)`,
    );
  return data;
}

/** Loads the data afresh (no cache): what a data check hashes. */
export async function freshRunData(cfg: RunConfig): Promise<RunData> {
  return await loadRunData(cfg);
}
