import { defineCommand } from 'citty';
import { openStore } from '../../shared/storage/index.ts';
import { writeRunReport } from '../../shared/report/report.ts';
import { codeVersion } from '../../shared/temporal/code-version.ts';
import { log } from '../context.ts';

export default defineCommand({
  meta: {
    name: 'report',
    description:
      'Write the run report (one self-contained HTML file) of a run stage from its stored results: results/<stage>/report.html',
  },
  args: {
    run: { type: 'positional', description: 'Run id (the artifacts key prefix)', required: true },
    stage: { type: 'string', description: 'Stage name', default: 'main' },
    out: {
      type: 'string',
      description: 'Artifact store: a local folder (default runs/) or memory://',
      default: 'runs',
      valueHint: 'dir',
    },
  },
  async run({ args }) {
    const store = await openStore(args.out);
    const key = await writeRunReport(store, args.run, args.stage, {
      codeVersion: codeVersion(process.env.HOPTM_CODE_VERSION),
    });
    log(`report: ${key} in ${store.location}`);
  },
});
