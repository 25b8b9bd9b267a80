/** The code that runs, for lineage: package version plus git commit (HOPTM_CODE_VERSION in images). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function codeVersion(fromEnv?: string): string {
  if (fromEnv) return fromEnv;
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
  const git = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const commit = git.status === 0 ? git.stdout.trim() : 'unknown';
  return `${pkg.version}+${commit}${dirty.status === 0 && dirty.stdout.trim() !== '' ? '-dirty' : ''}`;
}
