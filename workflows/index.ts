/** The workflows a worker registers (the bundle's entry point). */
export { distillationRun } from './distillation-run.ts';
export { dataCheck } from './data-check.ts';
