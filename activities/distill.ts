import { latestCheckpoint } from '../shared/method/distill/checkpoint.ts';
import type { IterationMetrics } from '../shared/method/distill/state.ts';
import { distillStage } from '../shared/method/pipeline/distill.ts';
import { distillPrefix } from '../shared/method/pipeline/keys.ts';
import { iterationSignal } from '../workflows/messages.ts';
import type { Slice } from '../workflows/plan.ts';
import type { IterationReport, RunRequest, SliceOutcome } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { adapt, WorkerDrainingError } from './failures.ts';
import { cancelOrDrain, reporter } from './progress.ts';
import { runDataFor } from './run-data.ts';

/** The stage (in the library's sense: a named distillation under results/) the pipeline distils. */
export const MAIN_STAGE = 'main';

/** Heartbeat details of a slice attempt: the newest checkpoint it wrote. */
export interface SliceHeartbeat {
  iteration: number;
  checkpointKey: string | null;
}

function iterationReport(m: IterationMetrics, secondsPerIteration: number): IterationReport {
  return {
    iteration: m.iteration + 1,
    paramLoss: m.paramLoss,
    shapeLoss: m.shapeLoss,
    loss: m.loss,
    utilisation: m.utilization,
    threshold: m.threshold,
    lr: m.lr,
    secondsPerIteration,
  };
}

/**
 * Runs distillation iterations [slice.from, slice.until) from the newest checkpoint (written by this or an
 * earlier attempt), checkpointing at least every checkpointIntervalSeconds and at the slice's end. A
 * draining worker writes a checkpoint at the next iteration and fails the attempt retryably, so another
 * worker continues from there. The last slice publishes the synthetic set.
 */
export function distillSliceActivity(deps: ActivityDeps) {
  return async function distillSlice(req: RunRequest, slice: Slice): Promise<SliceOutcome> {
    return await adapt(async () => {
      const report = reporter(deps.progressIntervalSeconds);
      const store = await deps.openStore(req.store);
      const data = await runDataFor(req.config, req.datasetHash, req.runId);
      const start = await latestCheckpoint(store, distillPrefix(req.runId, MAIN_STAGE));
      let beat: SliceHeartbeat = { iteration: start?.iteration ?? 0, checkpointKey: start?.key ?? null };
      report.heartbeat(beat);
      const t0 = Date.now();
      let lastCheckpointAt = t0;
      let last: IterationReport | null = null;
      const result = await distillStage(req.config, data, store, req.runId, MAIN_STAGE, {
        until: slice.until,
        signal: cancelOrDrain(),
        control: () => ({
          checkpoint: Date.now() - lastCheckpointAt >= deps.checkpointIntervalSeconds * 1000,
          stop: deps.drain.aborted,
        }),
        onIteration: (m) => {
          const done = m.iteration + 1 - (start?.iteration ?? 0);
          last = iterationReport(m, (Date.now() - t0) / 1000 / done);
          report.heartbeat();
          report.signal(iterationSignal, [last]);
        },
        onCheckpoint: (key, state) => {
          lastCheckpointAt = Date.now();
          beat = { iteration: state.iteration, checkpointKey: key };
          report.heartbeat(beat);
        },
      });
      if (last !== null) report.signal(iterationSignal, [last], true);
      if (!result.complete && result.state.iteration < slice.until)
        throw new WorkerDrainingError(
          `worker shutting down: distillation checkpointed at iteration ${result.state.iteration} (${beat.checkpointKey})`,
        );
      return {
        attempt: report.attempt,
        previousHeartbeat: report.previous,
        iteration: result.state.iteration,
        complete: result.complete,
        resumedFrom: start?.iteration ?? null,
        checkpointKey: beat.checkpointKey,
        last,
        resultKeys: result.resultKeys,
      };
    });
  };
}
