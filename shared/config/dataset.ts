/** The dataset section is the data layer's own spec schema (shared/data/spec.ts): one schema, one meaning. */
export { datasetSpecSchema as datasetSchema, type DatasetSpec as DatasetConfig } from '../data/spec.ts';
