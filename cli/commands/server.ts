/** `hoptm server start|stop|status`: the local Temporal dev server of a runs folder. */
import { defineCommand } from 'citty';
import { ensureLocalServer, findLocalServer } from '../../shared/temporal/local-server.ts';
import { log } from '../context.ts';

const outArg = {
  out: {
    type: 'string',
    description: 'Runs folder (the server keeps its database in <out>/temporal/)',
    default: 'runs',
  },
} as const;

export default defineCommand({
  meta: {
    name: 'server',
    description: 'The local Temporal dev server (SQLite under the runs folder, Web UI)',
  },
  subCommands: {
    start: defineCommand({
      meta: { name: 'start', description: 'Start it (or report the one already running)' },
      args: outArg,
      async run({ args }) {
        const s = await ensureLocalServer(args.out);
        log(`${s.started ? 'started' : 'already running'}: ${s.address}, Web UI ${s.uiUrl} (pid ${s.pid})`);
      },
    }),
    status: defineCommand({
      meta: { name: 'status', description: 'Say whether it runs, and where' },
      args: outArg,
      async run({ args }) {
        const s = await findLocalServer(args.out);
        log(s ? `running: ${s.address}, Web UI ${s.uiUrl} (pid ${s.pid})` : `not running for ${args.out}/`);
      },
    }),
    stop: defineCommand({
      meta: {
        name: 'stop',
        description: 'Stop it (runs persist in its database and continue on the next start)',
      },
      args: outArg,
      async run({ args }) {
        const s = await findLocalServer(args.out);
        if (s === null) {
          log(`not running for ${args.out}/`);
          return;
        }
        process.kill(s.pid, 'SIGTERM');
        log(`stopped the server at ${s.address} (pid ${s.pid})`);
      },
    }),
  },
});
