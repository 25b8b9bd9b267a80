/**
 * Dataset manifests: what was loaded (class names, counts per split and class, shapes, preprocessing) and a
 * content hash of the bytes it came from, so a run records exactly which data it saw.
 */
import { createHash, type Hash } from 'node:crypto';
import type { DatasetManifest, ImageSet, PreprocessSpec, SplitCounts, SplitName } from './types.ts';

/**
 * sha256 over the files a loader read, in the loader's fixed order. Each file contributes
 * `utf8(relativePath) 0x00 decimal(byteLength) 0x00 bytes`, so neither a rename nor a byte moving from one file
 * to the next can leave the hash unchanged. Paths are relative to the dataset's root (for one file: its name),
 * so the hash does not depend on where the data lives.
 */
export class ContentHasher {
  private readonly hash: Hash = createHash('sha256');
  private files = 0;

  addFile(relativePath: string, bytes: Uint8Array): void {
    this.hash.update(`${relativePath}\0${bytes.byteLength}\0`, 'utf8');
    this.hash.update(bytes);
    this.files++;
  }

  get fileCount(): number {
    return this.files;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export function splitCounts(labels: Int32Array, numClasses: number): SplitCounts {
  const perClass = new Array<number>(numClasses).fill(0);
  for (const y of labels) perClass[y] = (perClass[y] ?? 0) + 1;
  return { total: labels.length, perClass };
}

export interface ManifestInput {
  name: string;
  source: DatasetManifest['source'];
  classNames: string[];
  rawShape: DatasetManifest['rawShape'];
  rawEncoding: DatasetManifest['rawEncoding'];
  preprocess: PreprocessSpec;
  contentHash: string;
  splitRule?: string;
  splits: Partial<Record<SplitName, ImageSet>> & { train: ImageSet; test: ImageSet };
}

export function makeManifest(input: ManifestInput): DatasetManifest {
  const numClasses = input.classNames.length;
  const counts: DatasetManifest['counts'] = {
    train: splitCounts(input.splits.train.labels, numClasses),
    test: splitCounts(input.splits.test.labels, numClasses),
  };
  if (input.splits.val !== undefined) counts.val = splitCounts(input.splits.val.labels, numClasses);
  const { train } = input.splits;
  return {
    name: input.name,
    source: input.source,
    classNames: input.classNames,
    numClasses,
    counts,
    rawShape: input.rawShape,
    rawEncoding: input.rawEncoding,
    inputShape: [train.height, train.width, train.channels],
    preprocess: input.preprocess,
    contentHash: input.contentHash,
    ...(input.splitRule === undefined ? {} : { splitRule: input.splitRule }),
  };
}
