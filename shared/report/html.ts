import { classGridPng } from '../method/pipeline/png-grid.ts';
import type { AuditResult } from '../method/audit/audit.ts';
import type { AttackFigures } from '../method/audit/membership.ts';
import type { EvaluationFigures, ReportInputs, ResultFigures } from './load.ts';

export interface RenderOptions {
  /** The code that produced the run (a git revision), as the caller knows it. */
  codeVersion: string;
  chartJs: { version: string; source: string };
  generatedAt: string;
}

/** A Chart.js configuration: plain JSON (no functions), so it can be embedded in the page as data. */
type ChartSpec = { id: string; title: string; config: Record<string, unknown> };

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON for an inline <script>: `<` escaped so no value can close the element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const fmt = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : String(v));

const dataUri = (png: Uint8Array): string => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;

/** Every k-th point, so a 10,000-iteration run stays a light page (the last point is always kept). */
function thin<T>(xs: T[], max = 1000): T[] {
  if (xs.length <= max) return xs;
  const step = Math.ceil(xs.length / max);
  return xs.filter((_, i) => i % step === 0 || i === xs.length - 1);
}

const line = (label: string, data: { x: number; y: number }[], extra: Record<string, unknown> = {}) => ({
  label,
  data,
  showLine: true,
  pointRadius: 0,
  borderWidth: 1.5,
  ...extra,
});

const axes = (x: string, y: string, yExtra: Record<string, unknown> = {}) => ({
  x: { type: 'linear', title: { display: true, text: x } },
  y: { title: { display: true, text: y }, ...yExtra },
});

function trainingCharts(inp: ReportInputs): ChartSpec[] {
  const its = thin(inp.iterations);
  if (its.length === 0) return [];
  const pts = (f: (m: (typeof its)[number]) => number) => its.map((m) => ({ x: m.iteration, y: f(m) }));
  const charts: ChartSpec[] = [
    {
      id: 'chart-loss',
      title: 'Matching loss terms',
      config: {
        type: 'scatter',
        data: {
          datasets: [
            line(
              'total loss',
              pts((m) => m.loss),
            ),
            line(
              'parameter loss (masked)',
              pts((m) => m.paramLoss),
            ),
            line(
              'shape loss (angle potential)',
              pts((m) => m.shapeLoss),
            ),
          ],
        },
        options: { scales: axes('iteration', 'loss') },
      },
    },
    {
      id: 'chart-mask',
      title: 'Easy-to-complex mask utilisation',
      config: {
        type: 'scatter',
        data: {
          datasets: [
            line(
              'admitted parameters (%)',
              pts((m) => 100 * m.utilization),
            ),
          ],
        },
        options: { scales: axes('iteration', '% of parameters', { min: 0, max: 100 }) },
      },
    },
    {
      id: 'chart-lr',
      title: 'Learned student lr (syn_lr)',
      config: {
        type: 'scatter',
        data: {
          datasets: [
            line(
              'lr',
              pts((m) => m.lr),
            ),
          ],
        },
        options: { scales: axes('iteration', 'lr') },
      },
    },
  ];
  if (inp.evaluations.length > 0) {
    const split = inp.evaluations[0]!.split;
    charts.push({
      id: 'chart-eval',
      title: `In-run evaluations (${split} accuracy, one network each, seeded per iteration)`,
      config: {
        type: 'scatter',
        data: {
          datasets: [
            line(
              `${split} accuracy (%)`,
              inp.evaluations.map((e) => ({ x: e.iteration, y: 100 * e.accuracy })),
              { pointRadius: 4 },
            ),
          ],
        },
        options: { scales: axes('iteration', '% correct') },
      },
    });
  }
  return charts;
}

function accuracyChart(ev: EvaluationFigures): ChartSpec {
  const rows: [string, ResultFigures][] = [
    [`published (${ev.sets?.synthetic.kind ?? 'final'}) set`, ev.synthetic],
  ];
  if (ev.final && ev.sets?.synthetic.kind === 'selected') rows.push(['final iterate', ev.final]);
  if (ev.randomReal) rows.push(['random real subset (same ipc)', ev.randomReal]);
  if (ev.fullReal) rows.push(['full real training data', ev.fullReal]);
  return {
    id: 'chart-accuracy',
    title: 'Test accuracy (mean over networks; bars show mean ± population std)',
    config: {
      type: 'bar',
      data: {
        labels: rows.map(([l]) => l),
        datasets: [
          { label: 'mean test accuracy (%)', data: rows.map(([, r]) => 100 * r.mean) },
          {
            label: 'mean ± std (%)',
            data: rows.map(([, r]) => [100 * (r.mean - r.std), 100 * (r.mean + r.std)]),
          },
        ],
      },
      options: { scales: { y: { min: 0, max: 100, title: { display: true, text: '% correct' } } } },
    },
  };
}

const rocDatasets = (name: string, f: AttackFigures | null) =>
  f === null
    ? []
    : [
        line(
          `${name} (AUC ${fmt(f.auc)})`,
          f.roc.fpr.map((x, i) => ({ x, y: f.roc.tpr[i]! })),
        ),
      ];

function auditCharts(a: AuditResult): ChartSpec[] {
  const nc = a.nearCopies;
  const labels = nc.images.map((r) => `#${r.index} ${a.dataset.classNames[r.label] ?? r.label}`);
  const charts: ChartSpec[] = [
    {
      id: 'chart-ssim',
      title: 'Similarity to real training images, per synthetic image',
      config: {
        type: 'bar',
        data: {
          labels,
          datasets: [
            {
              label: 'nearest real image, after distillation (SSIM)',
              data: nc.images.map((r) => r.nearestSsim.ssim),
            },
            ...(a.init === 'real'
              ? [
                  {
                    label: 'its own initial real image (SSIM)',
                    data: nc.images.map((r) => r.initial?.ssim ?? null),
                  },
                ]
              : []),
            {
              type: 'line',
              label: `near-copy threshold (${nc.threshold})`,
              data: nc.images.map(() => nc.threshold),
              pointRadius: 0,
              borderDash: [6, 4],
            },
          ],
        },
        options: {
          scales: {
            y: {
              min: Math.min(0, ...nc.images.map((r) => r.nearestSsim.ssim)),
              max: 1,
              title: { display: true, text: 'SSIM' },
            },
          },
        },
      },
    },
    {
      id: 'chart-class-ssim',
      title: 'Nearest-real SSIM per class (range min..max, and median)',
      config: {
        type: 'bar',
        data: {
          labels: nc.perClass.map((c) => c.name),
          datasets: [
            { label: 'min..max', data: nc.perClass.map((c) => [c.nearestSsim.min, c.nearestSsim.max]) },
            {
              type: 'line',
              label: 'median',
              data: nc.perClass.map((c) => c.nearestSsim.median),
              showLine: false,
              pointRadius: 5,
            },
          ],
        },
        options: { scales: { y: { max: 1, title: { display: true, text: 'SSIM' } } } },
      },
    },
  ];
  const m = a.membership;
  if (m !== null) {
    charts.push({
      id: 'chart-roc',
      title: `Membership inference ROC (${m.members} members incl. ${m.initialMembers} initial images, ${m.nonMembers} non-members)`,
      config: {
        type: 'scatter',
        data: {
          datasets: [
            ...rocDatasets('synthetic-trained, loss attack', m.synthetic.loss),
            ...rocDatasets('synthetic-trained, calibrated', m.synthetic.calibrated),
            ...rocDatasets('real-trained, loss attack', m.real.loss),
            ...rocDatasets('real-trained, calibrated', m.real.calibrated),
            line(
              'chance',
              [
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ],
              { borderDash: [4, 4] },
            ),
          ],
        },
        options: { scales: axes('false-positive rate', 'true-positive rate', { min: 0, max: 1 }) },
      },
    });
  }
  return charts;
}

function classTable(inp: ReportInputs, norm: { mean: readonly number[]; std: readonly number[] }): string {
  const { published, final, auditImages } = inp;
  const names = inp.header.dataset.classNames;
  const rowsOf = (c: number) => [...published.labels.keys()].filter((i) => published.labels[i] === c);
  const grid = (images: Float32Array, rows: number[], alt: string) =>
    `<img class="grid" alt="${escapeHtml(alt)}" src="${dataUri(classGridPng(images, published.shape, rows, norm))}">`;
  const head = [
    'class',
    `published (${published.kind ?? 'final'}${published.iteration === undefined ? '' : `, iteration ${published.iteration}`})`,
    ...(final ? [`final (iteration ${final.iteration ?? '?'})`] : []),
    ...(auditImages.initial ? ['initial real images'] : []),
    ...(auditImages.nearest ? ['nearest real (SSIM)'] : []),
  ];
  const body = names
    .map((name, c) => {
      const rows = rowsOf(c);
      const cells = [
        escapeHtml(name),
        grid(published.images, rows, `published ${name}`),
        ...(final ? [grid(final.images, rows, `final ${name}`)] : []),
        ...(auditImages.initial ? [grid(auditImages.initial, rows, `initial ${name}`)] : []),
        ...(auditImages.nearest ? [grid(auditImages.nearest, rows, `nearest ${name}`)] : []),
      ];
      return `<tr>${cells.map((x) => `<td>${x}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table class="classes"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

function evaluationSection(ev: EvaluationFigures | null): string {
  if (ev === null) return '<p class="missing">Not evaluated yet (hoptm evaluate writes evaluation.json).</p>';
  const row = (name: string, r: ResultFigures | null | undefined, note: string) =>
    r == null
      ? `<tr><td>${escapeHtml(name)}</td><td colspan="5">${escapeHtml(note)}</td></tr>`
      : `<tr><td>${escapeHtml(name)}</td><td>${pct(r.mean)} ± ${pct(r.std)}</td><td>${r.val ? `${pct(r.val.mean)} ± ${pct(r.val.std)}` : '–'}</td><td>${r.runs.length}</td><td>${fmt(r.protocol.lr, 5)} (${escapeHtml(r.protocol.lrSource)})</td><td>${escapeHtml(note)}</td></tr>`;
  const s = ev.sets;
  const p = ev.synthetic.protocol;
  const selected = s?.synthetic.kind === 'selected';
  return `<table class="figures"><thead><tr><th>set</th><th>test accuracy</th><th>val accuracy</th><th>networks</th><th>lr</th><th>note</th></tr></thead><tbody>
${row(selected ? 'selected synthetic set (published)' : 'final synthetic set (published)', ev.synthetic, selected ? `selected on ${s!.synthetic.selection?.split} at iteration ${s!.synthetic.iteration} (${pct(s!.synthetic.selection?.accuracy ?? NaN)} in-run)` : 'no in-run evaluation point: the final iterate')}
${selected ? row('final synthetic set', ev.final, `iteration ${s?.final.iteration ?? '?'}`) : ''}
${row('random real subset (baseline)', ev.randomReal, ev.randomReal ? 'same images per class, a fresh random subset per network' : 'not run (evaluate --baseline)')}
${row('full real training data', ev.fullReal, ev.fullReal ? 'the whole training split' : 'not run in this pipeline (evaluateFullReal; see the audit for a real-trained network)')}
</tbody></table>
<p class="protocol">Protocol: ${p.runs} fresh ConvNets per set, ${p.epochsRun} epochs (${p.epochs} + 1), batch ${p.batchSize}, SGD momentum ${p.momentum}, weight decay ${p.weightDecay}, lr × 0.1 after epoch ${escapeHtml(String((p as Record<string, unknown>).lrDecayAfterEpoch ?? '?'))}, augmentation ${escapeHtml(p.augmentation)}, seed ${p.seed}; metric: ${escapeHtml(p.metric)}, std: ${escapeHtml(p.std)}; selection split: ${escapeHtml(p.selection)}.</p>`;
}

const attackRow = (name: string, f: AttackFigures | null) =>
  f === null
    ? `<tr><td>${escapeHtml(name)}</td><td colspan="4">not run</td></tr>`
    : `<tr><td>${escapeHtml(name)}</td><td>${fmt(f.auc)}</td><td>${pct(f.tprAt1Fpr)}</td><td>${f.initialImages ? fmt(f.initialImages.auc) : '–'}</td><td>${f.initialImages ? pct(f.initialImages.tprAt1Fpr) : '–'}</td></tr>`;

function auditSection(inp: ReportInputs, norm: { mean: readonly number[]; std: readonly number[] }): string {
  const a = inp.audit;
  if (a === null) return '<p class="missing">Not audited yet (hoptm audit writes audit.json).</p>';
  const nc = a.nearCopies;
  const s = (x: { median: number; min: number; max: number }) =>
    `${fmt(x.median)} (${fmt(x.min)}..${fmt(x.max)})`;
  const flagged =
    nc.flagged.length === 0
      ? `<p>No synthetic image reaches SSIM ${nc.threshold} with a real training image.</p>`
      : `<div class="flagged">${nc.flagged
          .map((i) => {
            const r = nc.images[i]!;
            const one = (images: Float32Array | null, alt: string) =>
              images === null
                ? ''
                : `<img alt="${escapeHtml(alt)}" src="${dataUri(classGridPng(images, inp.published.shape, [i], norm, 3))}">`;
            return `<figure>${one(inp.published.images, `flagged synthetic ${i}`)}${one(inp.auditImages.nearest, `nearest real of ${i}`)}<figcaption>#${i} (${escapeHtml(a.dataset.classNames[r.label] ?? String(r.label))}): SSIM ${fmt(r.nearestSsim.ssim)} with real image ${r.nearestSsim.row}</figcaption></figure>`;
          })
          .join('')}</div>`;
  const m = a.membership;
  const membership =
    m === null
      ? '<p class="missing">Membership inference was not run (audit.membership.enabled is false).</p>'
      : `<table class="figures"><thead><tr><th>target network / attack</th><th>ROC AUC</th><th>TPR at 1% FPR</th><th>AUC, initial images only</th><th>TPR at 1% FPR, initial images</th></tr></thead><tbody>
${attackRow(`synthetic-trained (${m.synthetic.images} images, ${m.synthetic.epochs} epochs; test accuracy ${pct(m.synthetic.testAccuracy)}), loss`, m.synthetic.loss)}
${attackRow('synthetic-trained, calibrated', m.synthetic.calibrated)}
${attackRow(`real-trained (${m.real.images} images, ${m.real.epochs} epochs; test accuracy ${pct(m.real.testAccuracy)}), loss`, m.real.loss)}
${attackRow('real-trained, calibrated', m.real.calibrated)}
</tbody></table>
<p>Members: ${m.members} real training images (${m.initialMembers} of them the initial images); non-members: ${m.nonMembers} ${escapeHtml(m.nonMemberSource)} images. Calibration: ${escapeHtml('skipped' in m.calibration ? `skipped (${m.calibration.skipped})` : `${m.calibration.referenceNetworks} reference networks per target; ${m.calibration.note}`)}.</p>`;
  return `<table class="figures"><thead><tr><th></th><th>nearest-real SSIM, median (min..max)</th><th>nearest-real L2 (normalised), median (min..max)</th><th>flagged</th></tr></thead><tbody>
<tr><td>before distillation (initial set)</td><td>${s(nc.before.nearestSsim)}</td><td>${s(nc.before.nearestL2)}</td><td>${nc.before.flagged}</td></tr>
<tr><td>after distillation (${escapeHtml(a.set.kind)} set)</td><td>${s(nc.after.nearestSsim)}</td><td>${s(nc.after.nearestL2)}</td><td>${nc.after.flagged}</td></tr>
</tbody></table>
<p>Near-copy rule: ${escapeHtml(nc.metric)} ≥ ${nc.threshold}. ${a.init === 'real' ? `Each synthetic image started as a real training image; the initial image is still the nearest real image (rank 1) for ${nc.images.filter((r) => r.initial?.rank === 1).length} of ${nc.images.length}.` : 'The set was initialised from noise.'}</p>
<h3>Flagged near-copies (${nc.flagged.length})</h3>
${flagged}
<h3>Membership inference</h3>
${membership}`;
}

/** The whole report page: one self-contained HTML document (images as data URIs, Chart.js inlined). */
export function renderReport(inp: ReportInputs, opts: RenderOptions): string {
  const norm = inp.header.dataset.preprocess.normalisation;
  const charts: ChartSpec[] = [
    ...trainingCharts(inp),
    ...(inp.evaluation ? [accuracyChart(inp.evaluation)] : []),
    ...(inp.audit ? auditCharts(inp.audit) : []),
  ];
  const chartDiv = (id: string) => {
    const c = charts.find((x) => x.id === id);
    return c
      ? `<figure class="chart"><figcaption>${escapeHtml(c.title)}</figcaption><canvas id="${c.id}"></canvas></figure>`
      : '';
  };
  const cfg = inp.header.config;
  const totalMs = inp.iterations.reduce((a, m) => a + m.ms, 0);
  const pub = inp.publish;
  const verdict =
    pub === null
      ? '<p class="missing">No publish record (the publish step writes publish.json).</p>'
      : pub.published
        ? `<p class="ok">Published (${escapeHtml(pub.at)}); gate ${pub.gate.enabled ? `on (near-copies ${pub.gate.refuseNearCopies ? 'refused' : 'allowed'}, AUC ≤ ${pub.gate.maxAuc})` : 'off'}.</p>`
        : `<p class="refused">Refused by the publish gate (${escapeHtml(pub.at)}):</p><ul>${pub.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>HoP-TM run ${escapeHtml(inp.runId)} / ${escapeHtml(inp.stage)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
img.grid{image-rendering:pixelated;max-width:220px}.charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}
figure.chart{margin:0}figure.chart canvas{width:100%!important;height:260px!important}
.flagged{display:flex;flex-wrap:wrap;gap:1em}.flagged figure{margin:0;text-align:center}.flagged img{image-rendering:pixelated}
.missing{color:#777;font-style:italic}.refused{color:#a00;font-weight:bold}.ok{color:#060;font-weight:bold}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em}code{font-size:.95em}
</style></head><body>
<h1>HoP-TM run <code>${escapeHtml(inp.runId)}</code>, stage <code>${escapeHtml(inp.stage)}</code></h1>
${verdict}
<h2>Synthetic images per class</h2>
${classTable(inp, norm)}
<h2>Training</h2>
<div class="charts">${['chart-loss', 'chart-mask', 'chart-lr', 'chart-eval'].map(chartDiv).join('')}</div>
<h2>Evaluation</h2>
${evaluationSection(inp.evaluation)}
<div class="charts">${chartDiv('chart-accuracy')}</div>
<h2>Privacy audit</h2>
${auditSection(inp, norm)}
<div class="charts">${['chart-ssim', 'chart-class-ssim', 'chart-roc'].map(chartDiv).join('')}</div>
<h2>Lineage and timings</h2>
<table class="figures"><tbody>
<tr><td>dataset</td><td>${escapeHtml(inp.header.dataset.name)}, sha256 <code>${escapeHtml(inp.header.dataset.contentHash)}</code></td></tr>
<tr><td>code version</td><td><code>${escapeHtml(opts.codeVersion)}</code>${inp.header.node ? `, Node ${escapeHtml(inp.header.node)}` : ''}</td></tr>
<tr><td>expert set</td><td>${inp.header.experts ? `${inp.header.experts.length} experts: ${escapeHtml(inp.header.experts.join(', '))}` : 'not recorded'}</td></tr>
<tr><td>distillation</td><td>${inp.iterations.length} iterations, ${fmt(totalMs / 1000, 1)} s (${fmt(inp.iterations.length ? totalMs / inp.iterations.length / 1000 : 0, 2)} s per iteration)</td></tr>
<tr><td>audit</td><td>${inp.audit ? `${fmt(inp.audit.seconds, 1)} s` : 'not run'}</td></tr>
<tr><td>report</td><td>generated ${escapeHtml(opts.generatedAt)}, charts by Chart.js ${escapeHtml(opts.chartJs.version)} (inlined)</td></tr>
</tbody></table>
<details><summary>Resolved run configuration (${escapeHtml(cfg.name)})</summary><pre>${escapeHtml(JSON.stringify(cfg, null, 2))}</pre></details>
<script>${opts.chartJs.source}</script>
<script type="application/json" id="report-charts">${scriptJson(charts)}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('report-charts').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var made = 0;
  specs.forEach(function (s) {
    var canvas = document.getElementById(s.id);
    if (canvas) { new Chart(canvas, s.config); made++; }
  });
  window.__report = { charts: made, expected: specs.length };
  document.body.setAttribute('data-charts', String(made));
})();
</script>
</body></html>
`;
}
