/**
 * How an activity's error reaches Temporal: bad input (the library's validation errors, a corrupt artifact,
 * data changed under the run) becomes a non-retryable failure carrying the message a user needs; anything
 * else (crashes, I/O, preemption) stays retryable.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { NON_RETRYABLE } from '../workflows/types.ts';
import { stopReporters } from './progress.ts';

const BAD_INPUT: ReadonlySet<string> = new Set(NON_RETRYABLE);

/** The worker is shutting down: the activity stopped at a checkpoint and another worker continues. */
export class WorkerDrainingError extends Error {
  override readonly name = 'WorkerDrainingError';
}

/** The data on disk is not the data the run was started for. */
export class DatasetChangedError extends Error {
  override readonly name = 'DatasetChangedError';
}

export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !(err instanceof Error)) return err;
  const explicit = (err as { retryable?: unknown }).retryable;
  if (BAD_INPUT.has(err.name) || explicit === false)
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: true,
      cause: err,
    });
  return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: false, cause: err });
}

/** Runs an activity body, translating its errors (see above) and ending its reporters' keep-alives. */
export async function adapt<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw toFailure(err);
  } finally {
    stopReporters();
  }
}
