import type { ArtifactStore } from '../shared/storage/store.ts';

/** What a worker hands its activities: everything environmental, decided once at worker start. */
export interface ActivityDeps {
  /** Opens a run's artifact store (with the worker's GCS endpoint, if any). */
  openStore(url: string): Promise<ArtifactStore>;
  /** Aborted when the worker starts draining (SIGTERM): heavy activities checkpoint, then stop. */
  drain: AbortSignal;
  /** Heavy activities write a checkpoint at least this often (deploy.md 8). */
  checkpointIntervalSeconds: number;
  /** Least seconds between live progress signals to the run's workflow. */
  progressIntervalSeconds: number;
  /** The code that runs: package version and commit, recorded in each run's manifest. */
  codeVersion: string;
}
