/**
 * The ConvNet family of the reference (method.md section C) and its flat parameter layout, which is exactly
 * PyTorch's `net.parameters()` order and shapes, so vectors and trajectories interchange with the reference.
 */
export interface ConvNetConfig {
  /** Input channels (3 for the medical sets, RGB-expanded). */
  channels: number;
  /** Feature maps per block (reference: 128). */
  width: number;
  /** Conv blocks (reference: 3 at 32 px, 5 at 112 px). */
  depth: number;
  /** Square input size in pixels. */
  imageSize: number;
  numClasses: number;
}

export interface ParamSpec {
  name: string;
  /** PyTorch shape (OIHW for conv weights, [out, in] for the linear layer). */
  shape: number[];
  offset: number;
  size: number;
}

export interface ConvNetLayout {
  specs: ParamSpec[];
  /** Total parameter count P. */
  size: number;
  /** Spatial size after the last pooling (floor at each 2x2 pool). */
  featureSize: number;
}

export function validateConvNetConfig(cfg: ConvNetConfig): void {
  const bad = (Object.entries(cfg) as [string, number][]).filter(([, v]) => !Number.isInteger(v) || v < 1);
  if (bad.length > 0) {
    throw new Error(
      `ConvNet config: expected positive integers, got ${bad.map(([k, v]) => `${k}=${v}`).join(', ')}`,
    );
  }
  if (cfg.imageSize >> cfg.depth < 1) {
    throw new Error(
      `ConvNet config: imageSize ${cfg.imageSize} is too small for depth ${cfg.depth} (each block halves it)`,
    );
  }
}

export function convNetLayout(cfg: ConvNetConfig): ConvNetLayout {
  validateConvNetConfig(cfg);
  const specs: ParamSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size });
    offset += size;
  };
  let inChannels = cfg.channels;
  let spatial = cfg.imageSize;
  for (let d = 0; d < cfg.depth; d++) {
    add(`conv${d}.weight`, [cfg.width, inChannels, 3, 3]);
    add(`conv${d}.bias`, [cfg.width]);
    add(`norm${d}.weight`, [cfg.width]);
    add(`norm${d}.bias`, [cfg.width]);
    inChannels = cfg.width;
    spatial = Math.floor(spatial / 2);
  }
  add('fc.weight', [cfg.numClasses, cfg.width * spatial * spatial]);
  add('fc.bias', [cfg.numClasses]);
  return { specs, size: offset, featureSize: spatial };
}

/** Splits a flat vector (any array-like) into named per-layer pieces, views where possible. */
export function splitFlat(flat: Float32Array, layout: ConvNetLayout): Map<string, Float32Array> {
  if (flat.length !== layout.size) {
    throw new Error(`splitFlat: expected a flat vector of ${layout.size} parameters, got ${flat.length}`);
  }
  return new Map(layout.specs.map((s) => [s.name, flat.subarray(s.offset, s.offset + s.size)]));
}

/** Joins per-layer arrays (in PyTorch shapes, row-major) into one flat vector. */
export function joinFlat(pieces: Map<string, ArrayLike<number>>, layout: ConvNetLayout): Float32Array {
  const flat = new Float32Array(layout.size);
  for (const spec of layout.specs) {
    const piece = pieces.get(spec.name);
    if (piece === undefined) throw new Error(`joinFlat: missing parameter '${spec.name}'`);
    if (piece.length !== spec.size) {
      throw new Error(
        `joinFlat: '${spec.name}' expected ${spec.size} values (shape [${spec.shape}]), got ${piece.length}`,
      );
    }
    flat.set(piece, spec.offset);
  }
  return flat;
}
