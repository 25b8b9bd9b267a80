/**
 * Headless Debian chromium driven by playwright-core (shared/docs/platform.md section 9). Never a browser
 * download: a missing /usr/bin/chromium is an error telling how to install it (scripts/install-chromium.sh).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** `offline`: no network at all (the report must need none); off for pages served on 127.0.0.1. */
export async function launchChromium(opts: { offline?: boolean } = {}): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the report tests need Debian's chromium (run scripts/install-chromium.sh as root)`,
    );
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'hoptm-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    offline: opts.offline ?? true,
    viewport: { width: 1200, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface PageCheck {
  consoleErrors: string[];
  requests: string[];
  images: { alt: string; width: number; complete: boolean }[];
  charts: { charts: number; expected: number };
  canvases: { id: string; hasChart: boolean; inkPixels: number }[];
}

/** Opens a report file and reports what rendered: images, charts (and their drawn pixels), errors, requests. */
export async function checkReport(
  context: BrowserContext,
  file: string,
  screenshot?: string,
): Promise<PageCheck> {
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
  });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  const result = await page.evaluate(() => {
    const w = window as unknown as {
      __report?: { charts: number; expected: number };
      Chart?: { getChart(c: HTMLCanvasElement): unknown };
    };
    const images = [...document.images].map((img) => ({
      alt: img.alt,
      width: img.naturalWidth,
      complete: img.complete,
    }));
    const canvases = [...document.querySelectorAll('canvas')].map((c) => {
      const ctx = c.getContext('2d');
      let ink = 0;
      if (ctx && c.width > 0 && c.height > 0) {
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) ink++;
      }
      return { id: c.id, hasChart: w.Chart?.getChart(c) !== undefined, inkPixels: ink };
    });
    return { images, canvases, charts: w.__report ?? { charts: -1, expected: -1 } };
  });
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { consoleErrors, requests, ...result };
}
