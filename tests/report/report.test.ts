import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import type { ArtifactStore } from '../../shared/storage/store.ts';
import { trainExperts } from '../../shared/method/pipeline/experts.ts';
import { distillStage } from '../../shared/method/pipeline/distill.ts';
import { evaluateStage } from '../../shared/method/pipeline/evaluate.ts';
import { publishKey, publishStage } from '../../shared/method/pipeline/publish.ts';
import { PublishGateError } from '../../shared/method/audit/gate.ts';
import { reportKey, writeRunReport } from '../../shared/report/report.ts';
import { tinyRunConfig, tinyRunData } from '../method/helpers/tiny-run.ts';
import { checkReport, launchChromium } from './browser.ts';

// The run report of a toy run, opened in headless Debian chromium: every image and chart must render, with no
// console error and no network request (the page is self-contained).
describe('run report (self-contained HTML) in headless chromium', () => {
  let context: BrowserContext;
  let store: ArtifactStore;
  const dir = mkdtempSync(join(tmpdir(), 'hoptm-report-'));
  const data = tinyRunData();

  beforeAll(async () => {
    context = await launchChromium();
    store = createMemoryStore();
    const cfg = tinyRunConfig();
    await trainExperts(cfg, data, store, 'r');
    await distillStage(cfg, data, store, 'r', 'main');
    await evaluateStage(cfg, data, store, 'r', 'main', { baseline: true });
  });
  afterAll(async () => {
    await context?.close();
  });

  const save = async (key: string, name: string): Promise<string> => {
    const file = join(dir, name);
    writeFileSync(file, await store.get(key));
    return file;
  };

  it('the publish step audits, records the verdict and writes a report whose images and charts all render', async () => {
    const cfg = tinyRunConfig();
    const r = await publishStage(cfg, data, store, 'r', 'main', { codeVersion: 'test-rev' });
    expect(r.published).toBe(true);
    expect(r.reportKey).toBe(reportKey('r', 'main'));
    const file = await save(r.reportKey, 'report.html');
    const html = readFileSync(file, 'utf8');
    // Nothing is loaded from elsewhere: no external script or stylesheet (the Chart.js bundle is inlined).
    const external = html.match(/<script[^>]*\ssrc=|<link[^>]*\shref=|<img[^>]*\ssrc="(?!data:)/g);
    expect(external).toBeNull();
    expect(html).toContain('test-rev');
    expect(html).toContain('Chart.js v4.6.1');

    const page = await checkReport(context, file, join(dir, 'report.png'));
    expect(page.consoleErrors).toEqual([]);
    expect(page.requests).toEqual([]);
    // 3 classes x (published, final, initial, nearest) grids, and each flagged image beside its nearest real one
    // (after 4 toy iterations the images are still close to their initial real images).
    const flagged = r.audit!.nearCopies.flagged.length;
    expect(page.images.length).toBe(12 + 2 * flagged);
    for (const img of page.images) expect(img, img.alt).toMatchObject({ complete: true });
    for (const img of page.images) expect(img.width, img.alt).toBeGreaterThan(0);
    // loss, mask, lr, in-run evaluations, accuracy, SSIM per image, SSIM per class, ROC.
    expect(page.charts).toEqual({ charts: 8, expected: 8 });
    expect(page.canvases.map((c) => c.id).sort()).toEqual([
      'chart-accuracy',
      'chart-class-ssim',
      'chart-eval',
      'chart-loss',
      'chart-lr',
      'chart-mask',
      'chart-roc',
      'chart-ssim',
    ]);
    for (const c of page.canvases) {
      expect(c.hasChart, c.id).toBe(true);
      expect(c.inkPixels, c.id).toBeGreaterThan(500);
    }
  });

  it('a refusing gate throws PublishGateError, records published: false, and the report shows why', async () => {
    const strict = tinyRunConfig({ audit: { nearCopySsim: 0, gate: { enabled: true } } });
    const err = await publishStage(strict, data, store, 'r', 'main').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PublishGateError);
    expect((err as Error).message).toMatch(/6 of 6 synthetic images are near-copies/);
    const record = JSON.parse(new TextDecoder().decode(await store.get(publishKey('r', 'main')))) as {
      published: boolean;
      reasons: string[];
    };
    expect(record.published).toBe(false);
    expect(record.reasons[0]).toMatch(/near-copies/);
    const file = await save(reportKey('r', 'main'), 'refused.html');
    expect(readFileSync(file, 'utf8')).toContain('Refused by the publish gate');
    const page = await checkReport(context, file);
    expect(page.consoleErrors).toEqual([]);
    // The flagged images are shown beside their nearest real images (2 per flagged image).
    expect(page.images.length).toBe(12 + 2 * 6);
    for (const img of page.images) expect(img.width, img.alt).toBeGreaterThan(0);
  });

  it('fails on a console error (the check is live): a page whose script throws is caught', async () => {
    const file = join(dir, 'broken.html');
    writeFileSync(file, '<!doctype html><html><body><script>throw new Error("boom")</script></body></html>');
    const page = await checkReport(context, file);
    expect(page.consoleErrors.join('\n')).toMatch(/boom/);
  });

  it('writeRunReport works before audit and evaluation exist, saying what is missing', async () => {
    const fresh = createMemoryStore();
    const cfg = tinyRunConfig({ distill: { iterations: 2 } });
    await trainExperts(cfg, data, fresh, 'q');
    await distillStage(cfg, data, fresh, 'q', 'main');
    const key = await writeRunReport(fresh, 'q', 'main');
    const html = new TextDecoder().decode(await fresh.get(key));
    expect(html).toContain('Not evaluated yet');
    expect(html).toContain('Not audited yet');
  });
});
