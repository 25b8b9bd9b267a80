import { Context } from '@temporalio/activity';
import { runRequest, type RunIntent } from '../shared/temporal/run-request.ts';
import { HOPTM_CONFIG } from '../shared/temporal/search-attributes.ts';
import type { RunRequest } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { adapt } from './failures.ts';
import { freshRunData } from './run-data.ts';

export interface DataInspection {
  /** The run the data as it is now would start. */
  request: RunRequest;
  /** A run of the same config still in progress (any data version), if one is. */
  openRun: string | null;
}

/** Re-hashes the data from scratch and looks for an open run of the same config. */
export function inspectDataActivity(_deps: ActivityDeps) {
  return async function inspectData(intent: RunIntent): Promise<DataInspection> {
    return await adapt(async () => {
      const request = runRequest(intent, await freshRunData(intent.config));
      const query = `${HOPTM_CONFIG.name} = '${request.configHash.slice(0, 12)}' AND ExecutionStatus = 'Running'`;
      let openRun: string | null = null;
      for await (const wf of Context.current().client.workflow.list({ query })) {
        openRun = wf.workflowId;
        break;
      }
      return { request, openRun };
    });
  };
}
