import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VENV = `${ROOT}.tools/pyenv`;
const PYTHON = `${VENV}/bin/python`;

/**
 * The PyTorch reference's Python. Uses .tools/pyenv when it has torch; otherwise creates it from
 * scripts/reference/requirements.txt (PyPI only; the Linux torch wheel is large but runs on CPU too).
 */
export function referencePython(log: (m: string) => void): string {
  const hasTorch = (): boolean =>
    existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (hasTorch()) return PYTHON;
  log(`bench: setting up PyTorch in ${VENV} (first run only; several GB from PyPI)`);
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(PYTHON, ['-m', 'pip', 'install', '-q', '-r', `${ROOT}scripts/reference/requirements.txt`], {
    stdio: 'inherit',
  });
  if (!hasTorch()) throw new Error(`bench: PyTorch still cannot be imported from ${PYTHON}`);
  return PYTHON;
}

/** Runs a reference script and parses the one JSON object it prints. */
export function runReference(
  script: string,
  args: string[],
  log: (m: string) => void,
): Record<string, unknown> {
  const out = execFileSync(referencePython(log), [`${ROOT}${script}`, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`bench: ${script} did not print a JSON object; got: ${line.slice(0, 200)}`);
  }
}
