/** The CPU worker: workflows and light activities (`HOPTM_TASK_QUEUE=hoptm-cpu`). */
import { main } from './main.ts';

main('cpu');
