/** Reading a run's history in tests: the results its activities returned, decoded. */
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';

// CommonJS module: its namespace is the default export under Node's ESM loader.
const EventType = proto.temporal.api.enums.v1.EventType;

export interface ActivityRecord<T = unknown> {
  name: string;
  result: T;
}

/** Every completed activity of the run, in completion order, with its decoded result. */
export async function completedActivities(handle: WorkflowHandle): Promise<ActivityRecord[]> {
  const history = await handle.fetchHistory();
  const names = new Map<string, string>();
  const out: ActivityRecord[] = [];
  for (const e of history.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      names.set(String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const a = e.activityTaskCompletedEventAttributes!;
      const payload = a.result?.payloads?.[0];
      out.push({
        name: names.get(String(a.scheduledEventId))!,
        result: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      });
    }
  }
  return out;
}

/** Results of one activity type. */
export async function resultsOf<T>(handle: WorkflowHandle, name: string): Promise<T[]> {
  return (await completedActivities(handle)).filter((a) => a.name === name).map((a) => a.result as T);
}

/** The heartbeat details the server holds for the run's pending activities (what a retry would be given). */
export async function pendingHeartbeats(handle: WorkflowHandle): Promise<unknown[]> {
  const d = await handle.describe();
  return (d.raw.pendingActivities ?? [])
    .map((a) => a.heartbeatDetails?.payloads?.[0])
    .filter((p) => p != null)
    .map((p) => defaultPayloadConverter.fromPayload(p!));
}
