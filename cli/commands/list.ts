import { defineCommand } from 'citty';
import {
  HOPTM_DATASET,
  HOPTM_IPC,
  HOPTM_PRESET,
  HOPTM_STATE,
} from '../../shared/temporal/search-attributes.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';

export default defineCommand({
  meta: { name: 'list', description: 'Runs on the Temporal server, newest first (filter with --query)' },
  args: {
    query: {
      type: 'string',
      description: "Temporal list filter, e.g. \"HoptmDataset='mnist' AND HoptmState='completed'\"",
      valueHint: 'filter',
    },
    limit: { type: 'string', description: 'At most this many runs', default: '50' },
    out: { type: 'string', description: 'Runs folder of the local dev server', default: 'runs' },
  },
  async run({ args }) {
    const limit = Number(args.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`--limit ${args.limit}: expected a positive integer`);
    const t = await connectTemporal({ runsDir: runsDirOf(args.out), start: false });
    try {
      const base = "WorkflowType = 'distillationRun'";
      const query = args.query ? `${base} AND (${args.query})` : base;
      let n = 0;
      for await (const wf of t.client.workflow.list({ query })) {
        const sa = wf.typedSearchAttributes;
        console.log(
          [
            wf.workflowId.padEnd(34),
            wf.status.name.toLowerCase().padEnd(10),
            String(sa.get(HOPTM_STATE) ?? '').padEnd(11),
            String(sa.get(HOPTM_DATASET) ?? '').padEnd(12),
            `ipc ${sa.get(HOPTM_IPC) ?? '?'}`.padEnd(8),
            String(sa.get(HOPTM_PRESET) ?? '').padEnd(16),
            wf.startTime.toISOString(),
          ].join(' '),
        );
        if (++n >= limit) break;
      }
      if (n === 0) console.log('no runs');
    } finally {
      await t.close();
    }
  },
});
