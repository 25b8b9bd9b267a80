/**
 * `hoptm schedule create|list|pause|unpause|delete`: re-distillation when data arrives. A schedule per
 * dataset + config runs the data check on an interval; the check starts a run only for new content.
 */
import { defineCommand } from 'citty';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
} from '@temporalio/client';
import { configHashOf } from '../../shared/temporal/run-request.ts';
import { dataCheckWorkflowId } from '../../workflows/ids.ts';
import type { dataCheck } from '../../workflows/index.ts';
import { pipelineSchema } from '../../shared/config/pipeline.ts';
import { runArgs } from '../args.ts';
import { log } from '../context.ts';
import { intentFromArgs } from '../intent.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';

const outArg = {
  out: { type: 'string', description: 'Runs folder of the local dev server', default: 'runs' },
} as const;
const idArg = {
  id: { type: 'positional', description: 'Schedule id (hoptm schedule list)', required: true },
} as const;

/** Temporal-style durations this command accepts: a whole number of s, m, h or d, at least one minute. */
export function parseInterval(every: string): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(every.trim());
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'] : NaN;
  if (!m || !(seconds >= 60))
    throw new Error(
      `--every ${JSON.stringify(every)}: expected a whole number with s, m, h or d, at least 1 minute (e.g. 30m, 6h, 1d)`,
    );
  return `${m[1]}${m[2]}`;
}

async function withClient<T>(out: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const t = await connectTemporal({ runsDir: runsDirOf(out), start: false });
  try {
    return await fn(t.client);
  } finally {
    await t.close();
  }
}

async function onSchedule(out: string, id: string, fn: (client: Client) => Promise<void>): Promise<void> {
  await withClient(out, async (client) => {
    try {
      await fn(client);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError)
        throw new Error(`no schedule '${id}' (hoptm schedule list shows them)`);
      throw err;
    }
  });
}

export default defineCommand({
  meta: { name: 'schedule', description: 'Re-distil on a schedule when the data changes' },
  subCommands: {
    create: defineCommand({
      meta: {
        name: 'create',
        description: 'Check the data of a preset + config every interval; run on new content',
      },
      args: {
        ...runArgs,
        every: { type: 'string', description: 'Interval between checks: 30m, 6h, 1d', required: true },
        id: {
          type: 'string',
          description: 'Schedule id (default: one per config, hoptm-check-<config hash>)',
        },
      },
      async run({ args, rawArgs }) {
        const every = parseInterval(args.every);
        const intent = intentFromArgs(args, rawArgs);
        const id = args.id ?? dataCheckWorkflowId(configHashOf(intent.config, intent.store));
        await withClient(args.out, async (client) => {
          try {
            await client.schedule.create({
              scheduleId: id,
              spec: { intervals: [{ every }] },
              action: {
                type: 'startWorkflow',
                workflowType: 'dataCheck' satisfies (typeof dataCheck)['name'],
                workflowId: id,
                taskQueue: pipelineSchema.parse({}).taskQueues.cpu,
                args: [intent],
              },
              policies: { overlap: ScheduleOverlapPolicy.SKIP },
            });
          } catch (err) {
            if (err instanceof ScheduleAlreadyRunning)
              throw new Error(
                `schedule '${id}' already exists (hoptm schedule delete ${id} first, or pick another --id)`,
              );
            throw err;
          }
        });
        log(
          `schedule ${id}: checks ${intent.config.dataset.kind} data for preset ${args.preset} every ${every}`,
        );
      },
    }),
    list: defineCommand({
      meta: { name: 'list', description: 'Schedules with their interval, state and recent checks' },
      args: outArg,
      async run({ args }) {
        await withClient(args.out, async (client) => {
          let n = 0;
          for await (const s of client.schedule.list()) {
            const d = await client.schedule.getHandle(s.scheduleId).describe();
            const every = d.spec.intervals?.map((i) => i.every).join(',') ?? '';
            const recent = d.info.recentActions.length;
            console.log(
              `${s.scheduleId.padEnd(28)} every ${String(every).padEnd(8)} ${d.state.paused ? 'paused ' : 'active '} ${recent} checks, next ${d.info.nextActionTimes[0]?.toISOString() ?? '-'}`,
            );
            n++;
          }
          if (n === 0) console.log('no schedules');
        });
      },
    }),
    pause: defineCommand({
      meta: { name: 'pause', description: 'Stop checking until unpaused' },
      args: { ...idArg, ...outArg },
      async run({ args }) {
        await onSchedule(args.out, args.id, (c) =>
          c.schedule.getHandle(args.id).pause('hoptm schedule pause'),
        );
        log(`schedule ${args.id}: paused`);
      },
    }),
    unpause: defineCommand({
      meta: { name: 'unpause', description: 'Resume checking' },
      args: { ...idArg, ...outArg },
      async run({ args }) {
        await onSchedule(args.out, args.id, (c) =>
          c.schedule.getHandle(args.id).unpause('hoptm schedule unpause'),
        );
        log(`schedule ${args.id}: active`);
      },
    }),
    delete: defineCommand({
      meta: { name: 'delete', description: 'Delete the schedule (runs it started are kept)' },
      args: { ...idArg, ...outArg },
      async run({ args }) {
        await onSchedule(args.out, args.id, (c) => c.schedule.getHandle(args.id).delete());
        log(`schedule ${args.id}: deleted`);
      },
    }),
  },
});
