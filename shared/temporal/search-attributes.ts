/**
 * The custom search attributes that make runs listable and filterable (Web UI, `temporal workflow list
 * --query "HoptmDataset='mnist'"`, `hoptm list`). Imported by workflow code too: @temporalio/common only.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { RunRequest } from '../../workflows/types.ts';

export const HOPTM_DATASET = defineSearchAttributeKey('HoptmDataset', SearchAttributeType.KEYWORD);
export const HOPTM_PRESET = defineSearchAttributeKey('HoptmPreset', SearchAttributeType.KEYWORD);
export const HOPTM_IPC = defineSearchAttributeKey('HoptmIpc', SearchAttributeType.INT);
export const HOPTM_STATE = defineSearchAttributeKey('HoptmState', SearchAttributeType.KEYWORD);
/** The first 12 hex digits of the config hash: runs of one config over successive data versions. */
export const HOPTM_CONFIG = defineSearchAttributeKey('HoptmConfig', SearchAttributeType.KEYWORD);

/** Every key with its server-side type name, as `temporal server start-dev --search-attribute K=T` takes it. */
export const SEARCH_ATTRIBUTES: readonly { name: string; type: 'Keyword' | 'Int' }[] = [
  { name: HOPTM_DATASET.name, type: 'Keyword' },
  { name: HOPTM_PRESET.name, type: 'Keyword' },
  { name: HOPTM_IPC.name, type: 'Int' },
  { name: HOPTM_STATE.name, type: 'Keyword' },
  { name: HOPTM_CONFIG.name, type: 'Keyword' },
];

/**
 * A run's attributes from its very start (given to the start call, not only upserted by the workflow),
 * so a data check sees a run of its config as in progress even before a worker has picked it up.
 */
export function runSearchAttributes(req: RunRequest): SearchAttributePair[] {
  return [
    { key: HOPTM_DATASET, value: req.datasetName },
    { key: HOPTM_PRESET, value: req.preset },
    { key: HOPTM_IPC, value: req.config.distill.ipc },
    { key: HOPTM_CONFIG, value: req.configHash.slice(0, 12) },
    { key: HOPTM_STATE, value: 'validating' },
  ];
}
