import { defineCommand } from 'citty';
import { PRESETS } from '../../shared/config/index.ts';

export default defineCommand({
  meta: {
    name: 'presets',
    description: 'List the named configurations (reference configs and the MNIST demo)',
  },
  run() {
    for (const [name, p] of Object.entries(PRESETS)) {
      const d = p.distill;
      console.log(
        `${name.padEnd(18)} ${p.dataset.kind.padEnd(13)} ipc ${String(d.ipc).padEnd(5)} N=${d.synSteps ?? 80} iterations ${d.iterations ?? 10000}`,
      );
    }
  },
});
