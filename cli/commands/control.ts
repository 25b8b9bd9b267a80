/** `hoptm pause|resume|cancel RUN`: signals to a running run (pause takes effect at the next step). */
import { defineCommand } from 'citty';
import { cancelRun, pauseRun, resumeRun } from '../../shared/temporal/runs.ts';
import { log } from '../context.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';
import { runIdArgs } from './_run-id.ts';

const ACTIONS = {
  pause: {
    fn: pauseRun,
    description: 'Pause a run before its next step (the step in flight finishes)',
    done: 'pause requested',
  },
  resume: { fn: resumeRun, description: 'Resume a paused run', done: 'resumed' },
  cancel: {
    fn: cancelRun,
    description: 'Cancel a run (running activities stop; stored artifacts stay)',
    done: 'cancellation requested',
  },
} as const;

export const controlCommand = (action: keyof typeof ACTIONS) =>
  defineCommand({
    meta: { name: action, description: ACTIONS[action].description },
    args: runIdArgs,
    async run({ args }) {
      const t = await connectTemporal({ runsDir: runsDirOf(args.out), start: false });
      try {
        await ACTIONS[action].fn(t.client, args.id);
        log(`run ${args.id}: ${ACTIONS[action].done}`);
      } finally {
        await t.close();
      }
    },
  });
