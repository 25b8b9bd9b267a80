import { defineCommand } from 'citty';
import { runStatus } from '../../shared/temporal/runs.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';
import { runIdArgs } from './_run-id.ts';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export default defineCommand({
  meta: { name: 'status', description: "A run's phase, progress, ETA and outcome" },
  args: {
    ...runIdArgs,
    json: { type: 'boolean', description: 'Print the full status as JSON', default: false },
  },
  async run({ args }) {
    const t = await connectTemporal({ runsDir: runsDirOf(args.out), start: false });
    try {
      const s = await runStatus(t.client, args.id);
      if (args.json) {
        console.log(JSON.stringify(s, null, 2));
        return;
      }
      const p = s.progress;
      const lines = [
        `run ${s.runId}: ${s.status.toLowerCase()}${p ? ` (${p.paused ? 'paused, ' : ''}${p.phase})` : ''}`,
      ];
      if (p) {
        lines.push(`  experts     ${p.experts.done}/${p.experts.total}`);
        const l = p.distill.last;
        lines.push(
          `  distill     ${p.distill.done}/${p.distill.total} iterations, stage ${p.distill.stage}/${p.distill.stages}` +
            (l ? `, loss ${l.loss.toFixed(4)}, mask ${pct(l.utilisation)}, lr ${l.lr.toPrecision(3)}` : ''),
        );
        lines.push(`  evaluation  ${p.evaluation.done}/${p.evaluation.total}`);
        if (s.status === 'RUNNING' && p.etaSeconds !== null && p.etaSeconds > 0)
          lines.push(`  ETA         ${Math.round(p.etaSeconds)} s to the end of distillation`);
      }
      if (s.summary) {
        const e = s.summary.evaluation;
        lines.push(
          `  accuracy    synthetic ${pct(e.synthetic.mean)} +- ${pct(e.synthetic.std)}` +
            (e.randomReal ? `, random real ${pct(e.randomReal.mean)} +- ${pct(e.randomReal.std)}` : ''),
        );
        lines.push(`  manifest    ${s.summary.store}/${s.summary.manifestKey}`);
      }
      if (s.progressUnavailable)
        lines.push(`  progress    not available now (${s.progressUnavailable}): no worker answered`);
      for (const a of s.pending)
        lines.push(
          `  running     ${a.activity} (attempt ${a.attempt})${a.heartbeat ? ` ${JSON.stringify(a.heartbeat)}` : ''}`,
        );
      if (s.error) lines.push(`  error       ${s.error}`);
      console.log(lines.join('\n'));
    } finally {
      await t.close();
    }
  },
});
