/** The GPU worker: heavy activities, one per accelerator (`HOPTM_TASK_QUEUE=hoptm-gpu`). */
import { main } from './main.ts';

main('gpu');
