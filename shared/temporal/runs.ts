/**
 * The client side of runs: trigger (attach to a running run, report a finished one, never duplicate),
 * progress, pause/resume/cancel, listing and the data check. Used by the CLI and the tests alike.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { dataCheckWorkflowId } from '../../workflows/ids.ts';
import { pauseSignal, progressQuery, resumeSignal } from '../../workflows/messages.ts';
import type { dataCheck, distillationRun } from '../../workflows/index.ts';
import {
  TASK_QUEUES,
  type DataCheckResult,
  type RunProgress,
  type RunRequest,
  type RunSummary,
} from '../../workflows/types.ts';
import { configHashOf, type RunIntent } from './run-request.ts';
import { runSearchAttributes } from './search-attributes.ts';

export type RunHandle = WorkflowHandle<typeof distillationRun>;

export interface Trigger {
  handle: RunHandle;
  /** started: a new run; attached: it was already running; finished: it had completed (nothing started). */
  outcome: 'started' | 'attached' | 'finished';
}

/** A run id that names no run (a typo, or a run of another server). */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super(`no run '${runId}' on this Temporal server (list runs with 'hoptm list')`);
  }
}

/** An operation that needs a running run, asked of one that has ended. */
export class RunNotRunningError extends Error {
  override readonly name = 'RunNotRunningError';
  constructor(
    readonly runId: string,
    readonly status: string,
    action: string,
  ) {
    super(`cannot ${action} run '${runId}': it is ${status.toLowerCase()}, not running`);
  }
}

export async function describeRun(client: Client, runId: string): Promise<WorkflowExecutionDescription> {
  try {
    return await client.workflow.getHandle(runId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new RunNotFoundError(runId);
    throw err;
  }
}

/** Starts the run unless it is running (attach) or has completed (report it); a failed run starts again. */
export async function triggerRun(client: Client, req: RunRequest): Promise<Trigger> {
  const before = await describeRun(client, req.runId).catch((err: unknown) => {
    if (err instanceof RunNotFoundError) return null;
    throw err;
  });
  try {
    const handle = await client.workflow.start<typeof distillationRun>('distillationRun', {
      workflowId: req.runId,
      taskQueue: req.pipeline.taskQueues.cpu,
      args: [req],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      // Workers that share a process with tensor work answer workflow tasks late; don't time them out.
      workflowTaskTimeout: '1 minute',
      typedSearchAttributes: runSearchAttributes(req),
    });
    const attached = before?.status.name === 'RUNNING';
    return { handle, outcome: attached ? 'attached' : 'started' };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle(req.runId), outcome: 'finished' };
  }
}

export interface PendingStep {
  activity: string;
  attempt: number;
  /** The step's newest heartbeat (its checkpoint or current step), as the server holds it. */
  heartbeat: unknown;
}

export interface RunStatus {
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, ... */
  status: string;
  startTime: Date;
  closeTime?: Date;
  /** Live from the `progress` query while running; the final record once completed. */
  progress: RunProgress | null;
  /** Why live progress is missing while running (no worker answering the query right now), else null. */
  progressUnavailable: string | null;
  /** The activities in flight, from the server (answers even when no worker does). */
  pending: PendingStep[];
  summary: RunSummary | null;
  /** Why a run failed, as the activity said it (the clear message, not Temporal's wrapper). */
  error: string | null;
}

/** The run's state: queried while it runs, read from its result once it has ended (no worker needed). */
export async function runStatus(client: Client, runId: string): Promise<RunStatus> {
  const d = await describeRun(client, runId);
  const handle = client.workflow.getHandle<typeof distillationRun>(runId);
  const pending = (d.raw.pendingActivities ?? []).map((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    return {
      activity: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      heartbeat: payload ? defaultPayloadConverter.fromPayload(payload) : null,
    };
  });
  const base = {
    runId,
    status: d.status.name,
    startTime: d.startTime,
    closeTime: d.closeTime ?? undefined,
    pending,
    progressUnavailable: null,
  };
  if (d.status.name === 'RUNNING') {
    try {
      return { ...base, progress: await handle.query(progressQuery), summary: null, error: null };
    } catch (err) {
      // Workers busy with tensor work, or none running: the server still knows what is in flight.
      const why = rootMessage(err);
      return { ...base, progress: null, progressUnavailable: why, summary: null, error: null };
    }
  }
  try {
    const summary = await handle.result();
    return { ...base, progress: summary.progress, summary, error: null };
  } catch (err) {
    return { ...base, progress: null, summary: null, error: rootMessage(err) };
  }
}

/** What the failing activity said: the first application failure under Temporal's wrappers. */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && !(e instanceof ApplicationFailure) && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

async function running(client: Client, runId: string, action: string): Promise<RunHandle> {
  const d = await describeRun(client, runId);
  if (d.status.name !== 'RUNNING') throw new RunNotRunningError(runId, d.status.name, action);
  return client.workflow.getHandle(runId);
}

export async function pauseRun(client: Client, runId: string): Promise<void> {
  await (await running(client, runId, 'pause')).signal(pauseSignal);
}

export async function resumeRun(client: Client, runId: string): Promise<void> {
  await (await running(client, runId, 'resume')).signal(resumeSignal);
}

export async function cancelRun(client: Client, runId: string): Promise<void> {
  await (await running(client, runId, 'cancel')).cancel();
}

/** Runs the data check for an intent at once and waits for its decision. */
export async function checkData(client: Client, intent: RunIntent): Promise<DataCheckResult> {
  const taskQueue = intent.pipeline?.taskQueues?.cpu ?? TASK_QUEUES.cpu;
  return await client.workflow.execute<typeof dataCheck>('dataCheck', {
    workflowId: `${dataCheckWorkflowId(configHashOf(intent.config, intent.store))}-now`,
    taskQueue,
    args: [intent],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}
