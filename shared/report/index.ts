/** The run report: one self-contained HTML page per run stage (docs/privacy.md, docs/evaluation.md). */
export { writeRunReport, reportKey, type RunReportOptions } from './report.ts';
export { renderReport, type RenderOptions } from './html.ts';
export { loadReportInputs, publishRecordSchema, type ReportInputs, type PublishRecord } from './load.ts';
export { chartJsBundle } from './chart-library.ts';
