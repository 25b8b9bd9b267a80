/**
 * One distillation run, as durable steps (docs/pipeline.md):
 *   validate and hash the data -> experts (fan-out, bounded) -> distillation slices (one per
 *   easy-to-complex stage, each resuming from the newest checkpoint) -> evaluation -> publish.
 * Every step is an activity whose state lives in the artifact store; this code only sequences them, keeps
 * the progress the `progress` query returns, and honours pause, resume and cancel.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { HOPTM_STATE, runSearchAttributes } from '../shared/temporal/search-attributes.ts';
import {
  expertEpochSignal,
  iterationSignal,
  pauseSignal,
  progressQuery,
  resumeSignal,
  stepSignal,
} from './messages.ts';
import { distillSlices, stageCount } from './plan.ts';
import {
  NON_RETRYABLE,
  type EvaluationOutcome,
  type PreparedRun,
  type RunPhase,
  type RunProgress,
  type RunRequest,
  type RunSummary,
} from './types.ts';

/** What a run carries across continue-as-new: the progress so far and the outcome of finished steps. */
export interface CarriedState {
  progress: RunProgress;
  prepared: PreparedRun | null;
  expertsDone: boolean;
  phaseStartedAt: number;
}

function activitiesFor(req: RunRequest) {
  const p = req.pipeline;
  const retry = {
    initialInterval: `${p.retryInitialSeconds}s`,
    maximumAttempts: p.maxAttempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  };
  const light = proxyActivities<Activities>({
    taskQueue: p.taskQueues.cpu,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: `${p.heartbeatTimeoutSeconds}s`,
    retry,
  });
  const heavy = proxyActivities<Activities>({
    taskQueue: p.taskQueues.gpu,
    startToCloseTimeout: `${p.activityTimeoutHours}h`,
    heartbeatTimeout: `${p.heartbeatTimeoutSeconds}s`,
    retry,
  });
  return { light, heavy };
}

function initialProgress(req: RunRequest): RunProgress {
  return {
    runId: req.runId,
    phase: 'validating',
    paused: false,
    experts: { done: 0, total: req.config.experts.count },
    distill: {
      done: 0,
      total: req.config.distill.iterations + 1,
      stage: 0,
      stages: stageCount(req.config),
      last: null,
    },
    evaluation: { done: 0, total: req.config.evaluate.runs },
    etaSeconds: null,
    timings: {},
    step: null,
    error: null,
  };
}

/** Runs `fn` over `items` with at most `limit` in flight (deterministic: the order of starts is fixed). */
async function boundedAll<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export async function distillationRun(req: RunRequest, carried?: CarriedState): Promise<RunSummary> {
  const { light, heavy } = activitiesFor(req);
  const state: CarriedState = carried ?? {
    progress: initialProgress(req),
    prepared: null,
    expertsDone: false,
    phaseStartedAt: Date.now(),
  };
  const progress = state.progress;

  // Before the handlers: a signal that arrived with the start (a pause) is applied after this. (The start
  // call sets the same attributes; a run started by other means gets them here.)
  if (!carried) upsertSearchAttributes(runSearchAttributes(req));

  setHandler(progressQuery, () => progress);
  setHandler(pauseSignal, () => {
    progress.paused = true;
    upsertSearchAttributes([{ key: HOPTM_STATE, value: 'paused' }]);
  });
  setHandler(resumeSignal, () => {
    progress.paused = false;
    upsertSearchAttributes([{ key: HOPTM_STATE, value: progress.phase }]);
  });
  setHandler(iterationSignal, (report) => {
    if (report.iteration < progress.distill.done) return; // a late report from a superseded attempt
    progress.distill.done = report.iteration;
    progress.distill.last = report;
    progress.etaSeconds = (progress.distill.total - report.iteration) * report.secondsPerIteration;
  });
  setHandler(expertEpochSignal, () => undefined);
  setHandler(stepSignal, (step) => {
    progress.step = step;
  });

  const enter = (phase: RunPhase): void => {
    const now = Date.now();
    const prev = progress.phase;
    progress.timings[prev] = (progress.timings[prev] ?? 0) + (now - state.phaseStartedAt) / 1000;
    state.phaseStartedAt = now;
    progress.phase = phase;
    progress.step = null;
    upsertSearchAttributes([{ key: HOPTM_STATE, value: progress.paused ? 'paused' : phase }]);
  };
  /** Waits while paused; the step in flight when the pause came has already finished. */
  const unlessPaused = (): Promise<void> => condition(() => !progress.paused);

  try {
    if (state.prepared === null) {
      await unlessPaused();
      state.prepared = await light.prepareRun(req);
    }

    if (!state.expertsDone) {
      enter('experts');
      await boundedAll(
        Array.from({ length: req.config.experts.count }, (_, k) => k),
        req.pipeline.expertConcurrency,
        async (k) => {
          await unlessPaused();
          const outcome = await heavy.trainExpert(req, k);
          progress.experts.done++;
          return outcome;
        },
      );
      state.expertsDone = true;
    }

    if (progress.phase !== 'distilling') enter('distilling');
    let slicesHere = 0;
    for (const slice of distillSlices(req.config, req.pipeline.sliceIterations)) {
      if (slice.until <= progress.distill.done) continue;
      if (slicesHere >= req.pipeline.slicesPerHistory || workflowInfo().continueAsNewSuggested) {
        log.info('continuing as new to keep the history small', { iteration: progress.distill.done });
        await continueAsNew<typeof distillationRun>(req, state);
      }
      await unlessPaused();
      progress.distill.stage = slice.stage;
      const out = await heavy.distillSlice(req, slice);
      slicesHere++;
      progress.distill.done = out.iteration;
      if (out.last) progress.distill.last = out.last;
    }
    progress.etaSeconds = 0;

    enter('evaluating');
    await unlessPaused();
    const tasks = await light.planEvaluation(req);
    progress.evaluation = { done: 0, total: tasks.length };
    const measured = await boundedAll(tasks, req.pipeline.evaluationConcurrency, async (task) => {
      await unlessPaused();
      const result = await heavy.evaluateNetwork(req, task);
      progress.evaluation.done++;
      return { part: task.part, result };
    });
    const evaluation: EvaluationOutcome = await light.recordEvaluation(req, measured);

    enter('publishing');
    await unlessPaused();
    const audit = await heavy.auditAndReport(req);
    const published = await light.publishRun(req, {
      prepared: state.prepared,
      evaluation,
      audit,
      timings: progress.timings,
    });
    enter('completed');
    return {
      runId: req.runId,
      store: req.store,
      manifestKey: published.manifestKey,
      resultKeys: published.resultKeys,
      evaluation,
      audit,
      timings: progress.timings,
      progress,
    };
  } catch (err) {
    const cancelled = isCancellation(err);
    progress.error = cancelled ? 'cancelled' : messageOf(err);
    await CancellationScope.nonCancellable(async () => enter(cancelled ? 'cancelled' : 'failed'));
    throw err;
  }
}

/** The message a user needs: the activity's application failure, not Temporal's wrapper around it. */
function messageOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && !(e instanceof ApplicationFailure) && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
