/**
 * The liveness file (docs/deploy.md 8): touched from the event loop every 10 s, so a worker whose loop is
 * blocked (a synchronous tensor op that never yields) is restarted by Kubernetes after 120 s.
 */
import { writeFileSync } from 'node:fs';

export function keepHealthFile(path: string | undefined, everyMs = 10_000): () => void {
  if (path === undefined) return () => undefined;
  const touch = (): void => writeFileSync(path, `${new Date().toISOString()}\n`);
  touch();
  const timer = setInterval(touch, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
