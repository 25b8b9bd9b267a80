/** `hoptm logs RUN`: the run's steps from its durable history (what ran, retries, failures, signals). */
import { defineCommand } from 'citty';
import proto from '@temporalio/proto';
import { describeRun } from '../../shared/temporal/runs.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';
import { runIdArgs } from './_run-id.ts';

// CommonJS module: its namespace is the default export under Node's ESM loader.
const EventType = proto.temporal.api.enums.v1.EventType;

export default defineCommand({
  meta: {
    name: 'logs',
    description: "A run's timeline: activities with attempts and failures, signals, the outcome",
  },
  args: runIdArgs,
  async run({ args }) {
    const t = await connectTemporal({ runsDir: runsDirOf(args.out), start: false });
    try {
      await describeRun(t.client, args.id);
      const history = await t.client.workflow.getHandle(args.id).fetchHistory();
      const scheduled = new Map<string, string>();
      let start = 0;
      for (const e of history.events ?? []) {
        const at = Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
        start ||= at;
        const ts = `+${((at - start) / 1000).toFixed(1).padStart(7)}s`;
        const line = (msg: string): void => console.log(`${ts}  ${msg}`);
        const id = String(e.eventId);
        switch (e.eventType) {
          case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            line('run started');
            break;
          case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
            const a = e.activityTaskScheduledEventAttributes!;
            scheduled.set(id, `${a.activityType?.name} (${a.taskQueue?.name})`);
            break;
          }
          case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
            const a = e.activityTaskStartedEventAttributes!;
            const name = scheduled.get(String(a.scheduledEventId));
            line(
              `${name} started${a.attempt && a.attempt > 1 ? `, attempt ${a.attempt} (${a.lastFailure?.message ?? 'retry'})` : ''}`,
            );
            break;
          }
          case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            line(
              `${scheduled.get(String(e.activityTaskCompletedEventAttributes!.scheduledEventId))} completed`,
            );
            break;
          case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: {
            const a = e.activityTaskFailedEventAttributes!;
            line(`${scheduled.get(String(a.scheduledEventId))} failed: ${a.failure?.message}`);
            break;
          }
          case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {
            const a = e.activityTaskTimedOutEventAttributes!;
            line(`${scheduled.get(String(a.scheduledEventId))} timed out (${a.failure?.message})`);
            break;
          }
          case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
            const name = e.workflowExecutionSignaledEventAttributes!.signalName;
            if (name === 'pause' || name === 'resume') line(`signal: ${name}`);
            break;
          }
          case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            line('cancel requested');
            break;
          case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            line('run completed');
            break;
          case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            line(`run failed: ${e.workflowExecutionFailedEventAttributes!.failure?.message}`);
            break;
          case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            line('continued as new (history kept small)');
            break;
          default:
        }
      }
    } finally {
      await t.close();
    }
  },
});
