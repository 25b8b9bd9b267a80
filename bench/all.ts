/**
 * Runs every benchmark (issue 8, section 3), one process each, in order: meta-gradient, expert-epoch, eval-epoch.
 * Each times every available backend (cpu, and webgpu on a software rasteriser, are left out unless named, with the
 * reason printed) and the PyTorch reference in the same invocation, and writes bench/results/<name>.json.
 *
 *   npm run bench -- [--backends tensorflow,wasm] [--only meta-gradient,eval-epoch] [--skip-pytorch]
 *
 * bench/mnist-distill.ts (real-data accuracy, ~15 minutes) is not a timing benchmark and is run on its own.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCHMARKS = ['meta-gradient', 'expert-epoch', 'eval-epoch'] as const;

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string' },
    only: { type: 'string' },
    'skip-pytorch': { type: 'boolean', default: false },
  },
});

const root = fileURLToPath(new URL('../', import.meta.url));
const only = args.only?.split(',') ?? [...BENCHMARKS];
const unknown = only.filter((b) => !(BENCHMARKS as readonly string[]).includes(b));
if (unknown.length > 0) {
  console.error(
    `bench: unknown benchmark(s) ${unknown.join(', ')}; expected some of ${BENCHMARKS.join(', ')}`,
  );
  process.exit(2);
}
const pass = [
  ...(args.backends === undefined ? [] : ['--backends', args.backends]),
  ...(args['skip-pytorch'] ? ['--skip-pytorch'] : []),
];
const failed: string[] = [];
for (const name of only) {
  console.error(`\n=== bench: ${name} ===`);
  const t0 = performance.now();
  const r = spawnSync(`${root}node_modules/.bin/tsx`, [`${root}bench/${name}.ts`, ...pass], {
    cwd: root,
    stdio: 'inherit',
  });
  console.error(
    `=== bench: ${name} ${r.status === 0 ? 'done' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(0)} s ===`,
  );
  if (r.status !== 0) failed.push(name);
}
if (failed.length > 0) {
  console.error(`bench: failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
