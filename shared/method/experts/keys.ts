/**
 * Where an expert trajectory lives in the artifact store (docs/experts.md):
 *
 *   <runId>/expert/<k>/epoch/<eeee>.safetensors   one immutable snapshot per kept epoch (create-only)
 *   <runId>/expert/<k>/state.safetensors          the resume state, overwritten after each epoch
 *   <runId>/expert/<k>/complete.json              the done marker, written last
 *
 * Epochs are zero-padded to four digits, so a lexicographic `list` is in epoch order.
 */
import { validateKey } from '../../storage/keys.ts';

/** Digits of the epoch in a snapshot key. */
export const EPOCH_DIGITS = 4;
export const MAX_EPOCH = 10 ** EPOCH_DIGITS - 1;

export function expertPrefix(runId: string, expert: number): string {
  if (!Number.isInteger(expert) || expert < 0)
    throw new Error(`expert index: expected an integer >= 0, got ${expert}`);
  return validateKey(`${runId}/expert/${expert}`);
}

export function snapshotKey(runId: string, expert: number, epoch: number): string {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) {
    throw new Error(`expert snapshot epoch: expected an integer in [0, ${MAX_EPOCH}], got ${epoch}`);
  }
  return `${expertPrefix(runId, expert)}/epoch/${String(epoch).padStart(EPOCH_DIGITS, '0')}.safetensors`;
}

export const stateKey = (runId: string, expert: number): string =>
  `${expertPrefix(runId, expert)}/state.safetensors`;

export const completeKey = (runId: string, expert: number): string =>
  `${expertPrefix(runId, expert)}/complete.json`;

/** The expert index of a `<runId>/expert/<k>/complete.json` key, or undefined for any other key. */
export function parseCompleteKey(runId: string, key: string): number | undefined {
  const prefix = `${runId}/expert/`;
  if (!key.startsWith(prefix) || !key.endsWith('/complete.json')) return undefined;
  const middle = key.slice(prefix.length, -'/complete.json'.length);
  return /^(0|[1-9][0-9]*)$/.test(middle) ? Number(middle) : undefined;
}
