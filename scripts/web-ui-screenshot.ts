/**
 * Screenshot of a run in the local dev server's Web UI, for docs (headless Debian chromium through
 * playwright-core; shared/docs/platform.md section 9).
 *   npx tsx scripts/web-ui-screenshot.ts <web-ui-url>/namespaces/default/workflows/<run-id> docs/web-ui-run.png
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, out] = process.argv.slice(2);
if (!url || !out) {
  process.stderr.write('usage: web-ui-screenshot.ts <run url> <out.png>\n');
  process.exit(2);
}
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'hoptm-ui-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 1000 },
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
try {
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'networkidle' });
  await page.waitForTimeout(2000);
  await page.screenshot({ path: out, fullPage: false });
  process.stderr.write(`wrote ${out}\n`);
} finally {
  await context.close();
}
