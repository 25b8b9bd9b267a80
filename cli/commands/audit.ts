import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defineCommand } from 'citty';
import { runArgs } from '../args.ts';
import { createContext, log, type RunContext } from '../context.ts';
import { auditKey, auditRun, type AuditResult } from '../../shared/method/audit/audit.ts';
import { assertPublishable, PublishGateError } from '../../shared/method/audit/gate.ts';
import { publishStage } from '../../shared/method/pipeline/publish.ts';
import { resultsPrefix } from '../../shared/method/pipeline/keys.ts';
import { codeVersion } from '../../shared/temporal/code-version.ts';

export default defineCommand({
  meta: {
    name: 'audit',
    description:
      "Privacy audit of a run stage's published set: near-copies of real images and membership inference (results/<stage>/audit.json)",
  },
  args: {
    ...runArgs,
    run: { type: 'positional', description: 'Run id (the artifacts key prefix)', required: true },
    stage: { type: 'string', description: 'Stage whose published set to audit', default: 'main' },
    gate: {
      type: 'boolean',
      description: 'Apply the publish gate (audit.gate) and fail if it refuses',
      default: false,
    },
    publish: {
      type: 'boolean',
      description: 'Run the whole publish step: audit, gate, results/<stage>/publish.json and the run report',
      default: false,
    },
    result: {
      type: 'string',
      description: 'Also write the headline figures as JSON to this file',
      valueHint: 'file',
    },
  },
  async run({ args, rawArgs }) {
    const ctx = await createContext(args, rawArgs);
    if (args.publish) {
      const audit = await runPublish(ctx, args.stage, args.result);
      if (audit === null) log('audit: audit.enabled is false, nothing was audited');
      return;
    }
    const audit = await runAudit(ctx, args.stage);
    if (args.result) writeAuditSummary(args.result, audit, ctx, await evaluationSummary(ctx, args.stage));
    if (args.gate) assertPublishable(audit, ctx.config.audit.gate);
  },
});

export async function runAudit(ctx: RunContext, stage: string): Promise<AuditResult> {
  const audit = await auditRun(ctx.config, ctx.data, ctx.store, ctx.runId, stage, { onStep: log });
  printAudit(audit);
  return audit;
}

/** The publish step in-process: audit, gate, publish.json and the run report (throws PublishGateError if refused). */
export async function runPublish(
  ctx: RunContext,
  stage: string,
  result?: string,
): Promise<AuditResult | null> {
  try {
    const r = await publishStage(ctx.config, ctx.data, ctx.store, ctx.runId, stage, {
      codeVersion: codeVersion(process.env.HOPTM_CODE_VERSION),
      onStep: log,
    });
    if (r.audit) printAudit(r.audit);
    if (r.audit && result) writeAuditSummary(result, r.audit, ctx, await evaluationSummary(ctx, stage));
    log(`publish: ${r.publishKey}; report: ${r.reportKey} in ${ctx.store.location}`);
    return r.audit;
  } catch (err) {
    // A refused publish still leaves its audit: show and save its figures before failing.
    if (err instanceof PublishGateError && result) {
      const audit = await auditFromStore(ctx, stage);
      if (audit) writeAuditSummary(result, audit, ctx, await evaluationSummary(ctx, stage));
    }
    throw err;
  }
}

/** Test accuracy of the stage's sets from evaluation.json (null before evaluation), to read beside the audit. */
export async function evaluationSummary(ctx: RunContext, stage: string): Promise<unknown> {
  const key = `${resultsPrefix(ctx.runId, stage)}/evaluation.json`;
  if (!(await ctx.store.exists(key))) return null;
  const doc: unknown = JSON.parse(new TextDecoder().decode(await ctx.store.get(key)));
  const pick = (name: string): unknown => {
    const r: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, name) : null;
    return typeof r === 'object' && r !== null
      ? {
          testMean: Reflect.get(r, 'mean'),
          testStd: Reflect.get(r, 'std'),
          val: Reflect.get(r, 'val') ?? null,
        }
      : null;
  };
  return {
    key,
    sets: typeof doc === 'object' && doc !== null ? (Reflect.get(doc, 'sets') ?? null) : null,
    published: pick('synthetic'),
    final: pick('final'),
    randomReal: pick('randomReal'),
  };
}

export async function auditFromStore(ctx: RunContext, stage: string): Promise<AuditResult | null> {
  const key = auditKey(ctx.runId, stage);
  if (!(await ctx.store.exists(key))) return null;
  const doc: unknown = JSON.parse(new TextDecoder().decode(await ctx.store.get(key)));
  return typeof doc === 'object' && doc !== null && Reflect.get(doc, 'kind') === 'hoptm-privacy-audit'
    ? (doc as AuditResult)
    : null;
}

export function printAudit(audit: AuditResult): void {
  const nc = audit.nearCopies;
  const f = (v: number) => v.toFixed(3);
  log(
    `audit: nearest-real SSIM median ${f(nc.before.nearestSsim.median)} before -> ${f(nc.after.nearestSsim.median)} after (max ${f(nc.after.nearestSsim.max)}); ${nc.flagged.length} of ${audit.set.images} flagged (SSIM >= ${nc.threshold})${nc.flagged.length ? `: #${nc.flagged.join(', #')}` : ''}`,
  );
  const m = audit.membership;
  if (m) {
    const row = (name: string, t: typeof m.synthetic) =>
      `${name}: loss attack AUC ${f(t.loss.auc)}, TPR@1%FPR ${(100 * t.loss.tprAt1Fpr).toFixed(1)}%` +
      (t.calibrated
        ? `; calibrated AUC ${f(t.calibrated.auc)}, TPR@1%FPR ${(100 * t.calibrated.tprAt1Fpr).toFixed(1)}%`
        : '');
    log(`audit: ${row('synthetic-trained', m.synthetic)}`);
    log(`audit: ${row('real-trained', m.real)}`);
  }
  log(`audit: ${audit.key} (${audit.seconds.toFixed(1)} s)`);
}

/** The headline figures, for bench/results (what ran, on what, and the numbers). */
export function writeAuditSummary(
  path: string,
  audit: AuditResult,
  ctx: RunContext,
  evaluation: unknown = null,
): void {
  const nc = audit.nearCopies;
  const m = audit.membership;
  const attack = (t: NonNullable<typeof m>['synthetic']) => ({
    trainedOn: t.trainedOn,
    images: t.images,
    epochs: t.epochs,
    lr: t.lr,
    testAccuracy: t.testAccuracy,
    loss: { auc: t.loss.auc, tprAt1Fpr: t.loss.tprAt1Fpr, initialImages: t.loss.initialImages },
    calibrated: t.calibrated && {
      auc: t.calibrated.auc,
      tprAt1Fpr: t.calibrated.tprAt1Fpr,
      initialImages: t.calibrated.initialImages,
    },
  });
  const summary = {
    benchmark: 'privacy-mnist',
    date: new Date().toISOString(),
    command: `npx tsx cli/index.ts ${process.argv.slice(2).join(' ')}`,
    code: codeVersion(process.env.HOPTM_CODE_VERSION),
    run: audit.runId,
    stage: audit.stage,
    preset: ctx.config.name,
    backend: ctx.backend.name,
    set: audit.set,
    dataset: audit.dataset,
    nearCopies: {
      metric: nc.metric,
      threshold: nc.threshold,
      before: nc.before,
      after: nc.after,
      flagged: nc.flagged.map((i) => {
        const r = nc.images[i]!;
        return { index: i, label: r.label, nearestRow: r.nearestSsim.row, ssim: r.nearestSsim.ssim };
      }),
      images: nc.images.map((r) => ({
        index: r.index,
        label: r.label,
        nearestSsim: r.nearestSsim.ssim,
        nearestL2: r.nearestL2.distance,
        initialSsim: r.initial?.ssim ?? null,
        initialDistance: r.initial?.distance ?? null,
        initialRank: r.initial?.rank ?? null,
      })),
    },
    membership: m && {
      members: m.members,
      initialMembers: m.initialMembers,
      nonMembers: m.nonMembers,
      nonMemberSource: m.nonMemberSource,
      calibration: m.calibration,
      synthetic: attack(m.synthetic),
      real: attack(m.real),
    },
    auditSeconds: audit.seconds,
    evaluation,
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`);
  log(`audit: figures written to ${path}`);
}
