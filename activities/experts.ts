import { tf } from '../shared/engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../shared/engine/tf.ts';
import { expertLastEpoch, trainExpert } from '../shared/method/experts/train-expert.ts';
import { expertEpochSignal } from '../workflows/messages.ts';
import type { ExpertOutcome, RunRequest } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { adapt, WorkerDrainingError } from './failures.ts';
import { cancelOrDrain, reporter } from './progress.ts';
import { runDataFor } from './run-data.ts';

/** Heartbeat details of an expert attempt: its newest stored epoch (the checkpoint a retry resumes from). */
export interface ExpertHeartbeat {
  expert: number;
  epoch: number;
  snapshotKey: string;
}

/**
 * Trains (or finishes) one expert trajectory. Each epoch is stored before it is reported, so a retried
 * attempt resumes after the newest stored epoch; a draining worker stops at the next epoch boundary.
 */
export function trainExpertActivity(deps: ActivityDeps) {
  return async function trainExpertStep(req: RunRequest, expert: number): Promise<ExpertOutcome> {
    return await adapt(async () => {
      const report = reporter(deps.progressIntervalSeconds);
      const store = await deps.openStore(req.store);
      const data = await runDataFor(req.config, req.datasetHash, req.runId);
      const { train } = data.dataset;
      const images = tf.tensor4d(train.images, [
        train.n,
        train.height,
        train.width,
        train.channels,
      ]) as Tensor4D;
      const labels = tf.tensor1d(train.labels, 'int32') as Tensor1D;
      try {
        const result = await trainExpert(
          {
            runId: req.runId,
            expert,
            cfg: data.model,
            experts: req.config.experts,
            lastEpoch: expertLastEpoch(req.config),
            train: { images, labels },
            dataDigest: data.dataset.manifest.contentHash,
          },
          { store },
          {
            signal: cancelOrDrain(),
            onBatch: () => report.heartbeat(),
            onEpoch: (epoch, info) => {
              report.heartbeat({ expert, epoch, snapshotKey: info.snapshotKey } satisfies ExpertHeartbeat);
              report.signal(expertEpochSignal, [expert, epoch], true);
              if (deps.drain.aborted)
                throw new WorkerDrainingError(
                  `worker shutting down: expert ${expert} stored through epoch ${epoch}`,
                );
            },
          },
        );
        return {
          attempt: report.attempt,
          previousHeartbeat: report.previous,
          expert,
          resumedFrom: result.resumedFrom,
          trainedEpochs: result.trainedEpochs,
          alreadyComplete: result.alreadyComplete,
        };
      } finally {
        tf.dispose([images, labels]);
      }
    });
  };
}
