/**
 * Screenshot of a run in the local dev server's Web UI, for docs (headless Debian chromium through
 * playwright-core, launched as the report tests launch it).
 *   npx tsx scripts/web-ui-screenshot.ts <web-ui-url>/namespaces/default/workflows/<run-id> docs/web-ui-run.png
 */
import { launchChromium } from '../tests/report/browser.ts';

const [url, out] = process.argv.slice(2);
if (!url || !out) {
  process.stderr.write('usage: web-ui-screenshot.ts <run url> <out.png>\n');
  process.exit(2);
}
const context = await launchChromium({ offline: false });
try {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1400, height: 1000 });
  // A running workflow's page polls the server without end: wait for the load, then let it render.
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(4000);
  await page.screenshot({ path: out });
  process.stderr.write(`wrote ${out}\n`);
} finally {
  await context.close();
}
