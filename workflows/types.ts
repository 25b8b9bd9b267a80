/**
 * What crosses the workflow boundary: the request that starts a run, the small results activities return,
 * and the progress a query reports. Plain data only (payloads are limited to 2 MB): tensors and images stay
 * in the artifact store and travel as keys.
 */
import type { PipelineOptions } from '../shared/config/pipeline.ts';
import type { RunConfig } from '../shared/config/schema.ts';

/** The task queues: workflows and light I/O activities on `cpu`, tensor work on `gpu` (docs/deploy.md 8). */
export const TASK_QUEUES = { cpu: 'hoptm-cpu', gpu: 'hoptm-gpu' } as const;

/**
 * Errors a retry cannot fix (bad config, bad data, data changed under the run, corrupt artifacts, a refused
 * publish): activities raise them as non-retryable failures of these types, with the message a user needs.
 */
export const NON_RETRYABLE = [
  'ConfigError',
  'DatasetFormatError',
  'DatasetChangedError',
  'ArtifactFormatError',
  'InvalidKeyError',
  'StoreConfigError',
  'StoreNotFoundError',
  'StorePermissionError',
  'ArtifactCorruptError',
  'SafetensorsFormatError',
  'PublishGateError',
] as const;

/** A run to distil: resolved config, where its artifacts go, and the data content it was triggered for. */
export interface RunRequest {
  /** The run's id: the workflow id and the artifacts' key prefix (`runWorkflowId`). */
  runId: string;
  /** The preset the config came from (a search attribute; the config itself is what runs). */
  preset: string;
  /** Validated by the client before start; activities validate again (a worker may run newer code). */
  config: RunConfig;
  /** The artifact store URL (a local folder, memory:// is refused: workers are other processes, or gs://). */
  store: string;
  /** sha256 of the dataset content (its manifest's contentHash) when the run was triggered. */
  datasetHash: string;
  /** The dataset's name (its manifest's): a search attribute. */
  datasetName: string;
  /** sha256 of the canonical JSON of the config and the store (`configHashOf`). */
  configHash: string;
  /** Scheduling only (timeouts, concurrency, slice size): never part of the results or the run id. */
  pipeline: PipelineOptions;
}

export type RunPhase =
  | 'validating'
  | 'experts'
  | 'distilling'
  | 'evaluating'
  | 'publishing'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** Figures of the newest distillation iteration an activity reported. */
export interface IterationReport {
  iteration: number;
  paramLoss: number;
  shapeLoss: number;
  loss: number;
  /** Fraction of parameter coordinates the easy-to-complex mask admits. */
  utilisation: number;
  threshold: number;
  lr: number;
  /** Mean wall time per iteration over the activity so far, for the ETA. */
  secondsPerIteration: number;
}

export interface RunProgress {
  runId: string;
  phase: RunPhase;
  paused: boolean;
  experts: { done: number; total: number };
  distill: {
    /** Iterations done (the loop runs 0..iterations inclusive: `iterations + 1` in all). */
    done: number;
    total: number;
    /** Easy-to-complex stage (mask threshold growth step) now running, 1-based, of `stages`. */
    stage: number;
    stages: number;
    last: IterationReport | null;
  };
  evaluation: { done: number; total: number };
  /** Seconds to the end of distillation from the current rate; null before a rate is known. */
  etaSeconds: number | null;
  /** Seconds spent per phase so far. */
  timings: Partial<Record<RunPhase, number>>;
  /** What the current step says it is doing (the audit's networks, the report), if it says. */
  step: string | null;
  error: string | null;
}

/** What `prepareRun` learnt about the data. */
export interface PreparedRun {
  datasetHash: string;
  datasetName: string;
  counts: { train: number; test: number; val: number };
  manifestKey: string;
}

/** Where an activity attempt started: its attempt number and what the previous attempt's heartbeat said. */
export interface AttemptInfo {
  attempt: number;
  /** The previous attempt's last heartbeat (its newest checkpoint), undefined on a first attempt. */
  previousHeartbeat?: unknown;
}

export interface ExpertOutcome extends AttemptInfo {
  expert: number;
  /** The epoch this attempt resumed from (its checkpoint), null when it started from initialisation. */
  resumedFrom: number | null;
  trainedEpochs: number;
  alreadyComplete: boolean;
}

export interface SliceOutcome extends AttemptInfo {
  /** The next iteration to run after this slice (the distillation's checkpoint). */
  iteration: number;
  complete: boolean;
  /** The checkpoint iteration this attempt resumed from, null when it started from initialisation. */
  resumedFrom: number | null;
  checkpointKey: string | null;
  last: IterationReport | null;
  resultKeys: string[];
}

export interface EvaluationOutcome {
  key: string;
  /** Mean and population std of the test accuracy (fractions): the published set, the final iterate, the baseline. */
  synthetic: { mean: number; std: number };
  final: { mean: number; std: number } | null;
  randomReal: { mean: number; std: number } | null;
}

/** What the audit-and-report step found and wrote (the published set passed the gate if this exists). */
export interface AuditOutcome {
  reportKey: string;
  publishKey: string;
  auditKey: string | null;
  /** Synthetic images flagged as near-copies of real ones; null when the audit is disabled. */
  flagged: number | null;
  /** ROC AUC of the loss attack against the synthetic-trained and the real-trained network. */
  lossAttackAuc: { synthetic: number; real: number } | null;
}

export interface PublishedRun {
  manifestKey: string;
  resultKeys: string[];
}

/** What a finished run returns (and `hoptm status` shows): where everything is, and the headline figures. */
export interface RunSummary {
  runId: string;
  store: string;
  manifestKey: string;
  resultKeys: string[];
  evaluation: EvaluationOutcome;
  audit: AuditOutcome;
  timings: Partial<Record<RunPhase, number>>;
  /** The progress record at the end (what the `progress` query answered last). */
  progress: RunProgress;
}

/** A data check (schedules and `hoptm data-arrived`): what it found and did. */
export interface DataCheckResult {
  action: 'started' | 'skipped';
  reason: string;
  runId: string;
  datasetHash: string;
}
