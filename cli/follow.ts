/**
 * `--follow`: live progress bars from the run's `progress` query (experts, distillation with its loss
 * terms, mask utilisation and ETA, evaluation) until the run ends. Ctrl-C stops following, never the run.
 */
import type { Client } from '@temporalio/client';
import { runStatus, type RunStatus } from '../shared/temporal/runs.ts';
import type { RunPhase, RunProgress } from '../workflows/types.ts';
import { log } from './context.ts';
import { progressBar } from './progress.ts';

type Bar = ReturnType<typeof progressBar>;

function distillNote(p: RunProgress): string {
  const l = p.distill.last;
  const stage = `stage ${p.distill.stage}/${p.distill.stages}`;
  if (l === null) return stage;
  return `${stage} loss ${l.loss.toFixed(4)} (param ${l.paramLoss.toFixed(4)}, shape ${l.shapeLoss.toFixed(5)}) mask ${(100 * l.utilisation).toFixed(1)}% lr ${l.lr.toPrecision(3)}`;
}

/** Follows until the run ends (resolves with its final status) or the user detaches (resolves null). */
export async function followRun(client: Client, runId: string, everyMs = 1000): Promise<RunStatus | null> {
  let detached = false;
  const onSigint = (): void => {
    detached = true;
  };
  process.once('SIGINT', onSigint);
  let phase: RunPhase | null = null;
  let bar: Bar | null = null;
  let barDone = 0;
  let step: string | null = null;
  try {
    for (;;) {
      const s = await runStatus(client, runId);
      const p = s.progress;
      if (p !== null && p.phase !== phase) {
        bar?.done();
        bar = null;
        phase = p.phase;
        if (phase === 'experts') bar = progressBar('experts   ', p.experts.total);
        else if (phase === 'distilling') bar = progressBar('distilling', p.distill.total);
        else if (phase === 'evaluating') bar = progressBar('evaluating', p.evaluation.total);
        else if (phase !== 'completed' && phase !== 'failed' && phase !== 'cancelled') log(`${phase}...`);
      }
      if (p !== null && bar !== null) {
        const done =
          phase === 'experts' ? p.experts.done : phase === 'distilling' ? p.distill.done : p.evaluation.done;
        const note = p.paused ? 'PAUSED' : phase === 'distilling' ? distillNote(p) : '';
        if (done !== barDone || note) bar.update(done, note);
        barDone = done;
      }
      if (p !== null && p.step !== null && p.step !== step && bar === null) log(`  ${p.step}`);
      step = p?.step ?? null;
      if (s.status !== 'RUNNING') {
        bar?.done();
        return s;
      }
      if (detached) {
        process.stderr.write('\n');
        log(`detached from run ${runId}: it goes on (hoptm status ${runId})`);
        return null;
      }
      await new Promise((r) => setTimeout(r, everyMs));
      if (detached) continue;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
