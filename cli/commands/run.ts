import { defineCommand } from 'citty';
import { initBackend, parseBackendChoice, tensorflowThreadsFor } from '../../shared/engine/backends/index.ts';
import { loadRunData } from '../../shared/method/pipeline/data.ts';
import { resultsPrefix } from '../../shared/method/pipeline/keys.ts';
import { runRequest } from '../../shared/temporal/run-request.ts';
import { triggerRun } from '../../shared/temporal/runs.ts';
import { startLocalWorkers } from '../../workers/local.ts';
import { runArgs } from '../args.ts';
import { intentFromArgs } from '../intent.ts';
import { createContext, log } from '../context.ts';
import { followRun } from '../follow.ts';
import { connectTemporal, runsDirOf } from '../temporal.ts';
import { runPublish } from './audit.ts';
import { runDistill } from './distill.ts';
import { runEvaluate } from './evaluate.ts';
import { runExperts } from './experts.ts';

export default defineCommand({
  meta: {
    name: 'run',
    description:
      'Distil a dataset through the Temporal pipeline (experts -> distillation -> evaluation -> publish); ' +
      'the same data and config attach to the same run',
  },
  args: {
    ...runArgs,
    follow: {
      type: 'boolean',
      description: 'Show live progress until the run ends (Ctrl-C detaches; the run goes on)',
      default: true,
    },
    workers: {
      type: 'string',
      description:
        'local: run the cpu and gpu workers in this process (default with the local dev server); none: leave the work to running workers (default with TEMPORAL_ADDRESS)',
      valueHint: 'local|none',
    },
    'in-process': {
      type: 'boolean',
      description: 'Debugging: run the library steps directly in this process, without Temporal',
      default: false,
    },
  },
  async run({ args, rawArgs }) {
    if (args['in-process']) {
      const ctx = await createContext(args, rawArgs);
      await runExperts(ctx);
      await runDistill(ctx, 'main');
      await runEvaluate(ctx, 'main', true);
      await runPublish(ctx, 'main');
      return;
    }
    if (args.run !== undefined)
      throw new Error('--run names an in-process run only: a pipeline run is named by its data and config');
    const intent = intentFromArgs(args, rawArgs);
    const { config, store } = intent;
    const data = await loadRunData(config);
    const m = data.dataset.manifest;
    log(
      `data: ${m.name}, ${m.counts.train.total} train / ${m.counts.test.total} test images, content ${m.contentHash.slice(0, 12)}`,
    );
    const req = runRequest(intent, data);

    const temporal = await connectTemporal({ runsDir: runsDirOf(args.out) });
    const workersMode = args.workers ?? (temporal.local ? 'local' : 'none');
    if (workersMode !== 'local' && workersMode !== 'none')
      throw new Error(`--workers ${workersMode}: expected local or none`);
    const workers =
      workersMode === 'local'
        ? await (async () => {
            await initBackend(parseBackendChoice(args.backend), log, {
              tensorflowThreads: tensorflowThreadsFor(data.model),
            });
            return await startLocalWorkers({
              address: temporal.address,
              namespace: temporal.namespace,
              taskQueues: req.pipeline.taskQueues,
            });
          })()
        : null;
    try {
      const { outcome, handle } = await triggerRun(temporal.client, req);
      const what = {
        started: 'started',
        attached: 'already running: following it',
        finished: 'already done',
      }[outcome];
      log(`run ${req.runId}: ${what}`);
      if (temporal.uiUrl)
        log(`web UI: ${temporal.uiUrl}/namespaces/${temporal.namespace}/workflows/${handle.workflowId}`);
      if (!args.follow && outcome !== 'finished') {
        if (workers)
          log('(--no-follow with local workers: the run continues while a worker runs: hoptm worker)');
        return;
      }
      const status = await followRun(temporal.client, req.runId);
      if (status === null) return;
      if (status.status !== 'COMPLETED')
        throw new Error(`run ${req.runId} ${status.status.toLowerCase()}: ${status.error}`);
      const e = status.summary!.evaluation;
      const pct = (x: { mean: number; std: number }): string =>
        `${(100 * x.mean).toFixed(2)} +- ${(100 * x.std).toFixed(2)} %`;
      log(
        `accuracy: synthetic ${pct(e.synthetic)}${e.randomReal ? `, random real ${pct(e.randomReal)}` : ''}`,
      );
      log(
        `results: ${store.includes('://') ? `${store}/` : `${store}/`}${resultsPrefix(req.runId, 'main')}/ (manifest: ${status.summary!.manifestKey})`,
      );
    } finally {
      await workers?.stop();
      await temporal.close();
    }
  },
});
