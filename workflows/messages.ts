/** The run workflow's queries and signals, defined once and used by the workflow, activities and clients. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IterationReport, RunProgress } from './types.ts';

export const progressQuery = defineQuery<RunProgress>('progress');
/** Pause before the next activity (the running one finishes its slice first). */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Live figures from a running distillation slice (throttled by the activity). */
export const iterationSignal = defineSignal<[IterationReport]>('iteration');
/** An expert finished an epoch: `[expert, epoch]`. */
export const expertEpochSignal = defineSignal<[number, number]>('expertEpoch');
/** What a long step without iterations (the audit) is doing now, for progress displays. */
export const stepSignal = defineSignal<[string]>('step');
