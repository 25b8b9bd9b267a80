/**
 * Liveness and progress from inside an activity: heartbeats (which also carry the key of the newest
 * checkpoint, so a retried attempt can say where it resumed) and throttled signals that keep the run's
 * `progress` query live. Signals are best-effort: a failed one is logged, never fatal.
 */
import { Context } from '@temporalio/activity';
import type { SignalDefinition } from '@temporalio/workflow';

export interface Reporter {
  heartbeat(details?: unknown): void;
  /** Sends at most one signal per interval (the latest figures win); `force` sends now. */
  signal<Args extends unknown[]>(def: SignalDefinition<Args>, args: Args, force?: boolean): void;
  /** The heartbeat details the previous attempt left (undefined on a first attempt). */
  previous: unknown;
  attempt: number;
}

/** Keep-alive period: steps without their own heartbeats (one long training) must not look dead. */
const KEEPALIVE_MS = 10_000;
const keepalives = new WeakMap<Context, ReturnType<typeof setInterval>[]>();

/**
 * A reporter for the current activity. Besides the heartbeats its owner sends, it repeats the newest
 * details every 10 s while the event loop turns, so a long step without progress events (an audit network's
 * training) is not taken for a dead worker; `adapt` stops that when the activity ends.
 */
export function reporter(intervalSeconds: number): Reporter {
  const ctx = Context.current();
  let lastSignal = 0;
  let lastDetails: unknown = ctx.info.heartbeatDetails;
  const timer = setInterval(() => ctx.heartbeat(lastDetails), KEEPALIVE_MS);
  timer.unref();
  keepalives.set(ctx, [...(keepalives.get(ctx) ?? []), timer]);
  return {
    previous: ctx.info.heartbeatDetails,
    attempt: ctx.info.attempt,
    heartbeat(details) {
      if (details !== undefined) lastDetails = details;
      ctx.heartbeat(lastDetails);
    },
    signal(def, args, force = false) {
      const now = Date.now();
      if (!force && now - lastSignal < intervalSeconds * 1000) return;
      lastSignal = now;
      const workflowId = ctx.info.workflowExecution?.workflowId;
      if (workflowId === undefined) return; // a standalone activity (tests): no workflow to tell
      ctx.client.workflow
        .getHandle(workflowId)
        .signal(def, ...args)
        .catch((err: unknown) => ctx.log.warn('progress signal failed', { error: String(err) }));
    },
  };
}

/** An AbortSignal that fires on the activity's cancellation or on any of `others`. */
export function cancelOrDrain(...others: AbortSignal[]): AbortSignal {
  return AbortSignal.any([Context.current().cancellationSignal, ...others]);
}

/** Stops the keep-alive heartbeats of the current activity's reporters (its body has ended). */
export function stopReporters(): void {
  const ctx = Context.current();
  for (const timer of keepalives.get(ctx) ?? []) clearInterval(timer);
  keepalives.delete(ctx);
}
