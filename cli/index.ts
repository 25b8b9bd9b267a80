/**
 * hoptm: HoP-TM dataset distillation as a durable Temporal pipeline.
 *   npx tsx cli/index.ts run --preset mnist-ipc1      (or: npm run hoptm -- run ...)
 * Each command is loaded only when it is invoked. A failing command prints one clear line; `--debug` (or
 * HOPTM_DEBUG=1) adds the stack.
 */
import { defineCommand, runMain, type CommandDef } from 'citty';

const debug = process.argv.includes('--debug') || process.env.HOPTM_DEBUG === '1';
if (process.argv.includes('--debug')) process.argv.splice(process.argv.indexOf('--debug'), 1);

function report(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(debug && err instanceof Error ? `${err.stack}\n` : `hoptm: error: ${msg}\n`);
  process.exit(1);
}

/** Wraps a command (and its subcommands) so that its errors are reported as one line. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function clear<T extends CommandDef<any>>(cmd: T): T {
  const subs = cmd.subCommands as Record<string, CommandDef> | undefined;
  return {
    ...cmd,
    ...(cmd.run
      ? { run: (ctx: Parameters<NonNullable<T['run']>>[0]) => Promise.resolve(cmd.run!(ctx)).catch(report) }
      : {}),
    ...(subs ? { subCommands: Object.fromEntries(Object.entries(subs).map(([k, c]) => [k, clear(c)])) } : {}),
  };
}

const lazy =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (load: () => Promise<{ default: CommandDef<any> }>) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (): Promise<CommandDef<any>> =>
      load().then((m) => clear(m.default));

const main = defineCommand({
  meta: {
    name: 'hoptm',
    description:
      'High-Order Progressive Trajectory Matching: distil a dataset into a few synthetic images per class',
  },
  subCommands: {
    run: lazy(() => import('./commands/run.ts')),
    status: lazy(() => import('./commands/status.ts')),
    list: lazy(() => import('./commands/list.ts')),
    logs: lazy(() => import('./commands/logs.ts')),
    pause: () => import('./commands/control.ts').then((m) => clear(m.controlCommand('pause'))),
    resume: () => import('./commands/control.ts').then((m) => clear(m.controlCommand('resume'))),
    cancel: () => import('./commands/control.ts').then((m) => clear(m.controlCommand('cancel'))),
    worker: lazy(() => import('./commands/worker.ts')),
    server: lazy(() => import('./commands/server.ts')),
    schedule: lazy(() => import('./commands/schedule.ts')),
    'data-arrived': lazy(() => import('./commands/data-arrived.ts')),
    experts: lazy(() => import('./commands/experts.ts')),
    distill: lazy(() => import('./commands/distill.ts')),
    evaluate: lazy(() => import('./commands/evaluate.ts')),
    presets: lazy(() => import('./commands/presets.ts')),
    audit: lazy(() => import('./commands/audit.ts')),
    report: lazy(() => import('./commands/report.ts')),
  },
});

process.on('unhandledRejection', report);
void runMain(main);
