import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The Chart.js UMD bundle (npm `chart.js`, MIT), inlined into each report so the page draws its charts offline with
 * no server. Its path is not in the package's exports, so it is found beside the package's main file.
 */
export async function chartJsBundle(): Promise<{ version: string; source: string }> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js');
  const dist = dirname(main);
  const source = await readFile(join(dist, 'chart.umd.min.js'), 'utf8');
  const version = /Chart\.js v(\d+\.\d+\.\d+)/.exec(source)?.[1];
  if (version === undefined)
    throw new Error(`report: ${join(dist, 'chart.umd.min.js')} is not a Chart.js UMD bundle`);
  if (/<\/script/i.test(source))
    throw new Error('report: the Chart.js bundle contains </script> and cannot be inlined');
  return { version, source };
}
