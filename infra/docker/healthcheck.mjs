// Health check of a worker container, used by the image's HEALTHCHECK and the pods' liveness probe.
// The worker touches HOPTM_HEALTH_FILE from its event loop (at least every 30 s); a file older than
// HOPTM_HEALTH_MAX_AGE_SECONDS means the loop is stuck, so Temporal heartbeats have stopped too.
import { statSync } from 'node:fs';

const file = process.env.HOPTM_HEALTH_FILE || '/tmp/hoptm-worker.health';
const maxAgeSeconds = Number(process.env.HOPTM_HEALTH_MAX_AGE_SECONDS || 120);

try {
  const ageSeconds = (Date.now() - statSync(file).mtimeMs) / 1000;
  if (ageSeconds > maxAgeSeconds) {
    console.error(
      `unhealthy: ${file} last touched ${Math.round(ageSeconds)} s ago (limit ${maxAgeSeconds} s)`,
    );
    process.exit(1);
  }
} catch (error) {
  console.error(`unhealthy: ${file}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
