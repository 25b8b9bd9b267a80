import type { BackendName } from './types.ts';

/** A backend could not be made ready. The message names the backend and the cause. */
export class BackendStartError extends Error {
  override readonly name = 'BackendStartError';

  constructor(
    readonly backend: BackendName,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`backend '${backend}' failed to start: ${reason}`, options);
  }
}

/** The message of anything thrown, for error text. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return String(error);
}
