import { loadDataset, type Dataset } from '../../data/index.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import type { RunConfig } from '../../config/index.ts';

/** A run's real data and the network it implies (channels, classes and input size come from the data). */
export interface RunData {
  dataset: Dataset;
  model: ConvNetConfig;
}

export async function loadRunData(cfg: RunConfig): Promise<RunData> {
  const dataset = await loadDataset(cfg.dataset);
  const [height, width, channels] = dataset.manifest.inputShape;
  if (height !== width)
    throw new Error(
      `dataset ${dataset.manifest.name}: the ConvNet needs square inputs, got ${height}x${width}`,
    );
  return {
    dataset,
    model: {
      channels,
      width: cfg.model.width,
      depth: cfg.model.depth,
      imageSize: height,
      numClasses: dataset.manifest.numClasses,
    },
  };
}
