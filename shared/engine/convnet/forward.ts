import { tf } from '../tf.ts';
import type { Tensor1D, Tensor2D, Tensor4D } from '../tf.ts';
import { convNetLayout, type ConvNetConfig, type ConvNetLayout } from './layout.ts';
import { canFusePool, instanceNormRelu, instanceNormReluPool } from '../ops/instance-norm.ts';

/** Per-layer tensors sliced from the flat vector, in tfjs's layouts (HWIO conv filters). */
function unflatten(flat: Tensor1D, layout: ConvNetLayout): Map<string, tf.Tensor> {
  const params = new Map<string, tf.Tensor>();
  // One split, not a slice per tensor: the gradient is then one concat instead of a zero-padded
  // full-length vector per tensor summed up (which dominated the parameter-sized work of the backward).
  const pieces = tf.split(
    flat,
    layout.specs.map((spec) => spec.size),
  );
  layout.specs.forEach((spec, i) => {
    const piece = spec.shape.length === 1 ? pieces[i]! : tf.reshape(pieces[i]!, spec.shape);
    // PyTorch stores conv weights OIHW; tfjs convolves with HWIO.
    params.set(spec.name, spec.shape.length === 4 ? tf.transpose(piece, [2, 3, 1, 0]) : piece);
  });
  return params;
}

/**
 * Logits of the reference ConvNet for NHWC images, as a pure function of the flat parameter vector:
 * [conv3x3 (pad 1) -> instance norm -> ReLU -> avgpool 2x2] x depth -> linear on NCHW-flattened features
 * (the conv bias, cancelled by the norm, is not added: see below).
 */
export function convNetForward(flat: Tensor1D, images: Tensor4D, cfg: ConvNetConfig): Tensor2D {
  const layout = convNetLayout(cfg);
  if (flat.rank !== 1 || flat.shape[0] !== layout.size) {
    throw new Error(
      `convNetForward: expected a flat parameter vector of ${layout.size}, got shape [${flat.shape}]`,
    );
  }
  const [, h, w, c] = images.shape;
  if (h !== cfg.imageSize || w !== cfg.imageSize || c !== cfg.channels) {
    throw new Error(
      `convNetForward: expected images [n, ${cfg.imageSize}, ${cfg.imageSize}, ${cfg.channels}] (NHWC), got [${images.shape}]`,
    );
  }
  return tf.tidy(() => {
    const p = unflatten(flat, layout);
    const get = (name: string): tf.Tensor => p.get(name)!;
    let x: Tensor4D = images;
    for (let d = 0; d < cfg.depth; d++) {
      // The conv bias is not added: the instance norm right after it subtracts each channel's mean, which
      // removes any per-channel constant exactly, so the bias changes nothing downstream and its gradient
      // is zero (PyTorch computes both: rounding noise of ~1e-9). It stays in the parameter vector, whose
      // layout is PyTorch's. Adding it and reducing its gradient cost ~5 % of a meta-gradient.
      x = tf.conv2d(x, get(`conv${d}.weight`) as Tensor4D, 1, 'same');
      const [gamma, beta] = [get(`norm${d}.weight`), get(`norm${d}.bias`)];
      x = canFusePool(x.shape)
        ? instanceNormReluPool(x, gamma, beta)
        : tf.avgPool(instanceNormRelu(x, gamma, beta), 2, 2, 'valid');
    }
    const n = images.shape[0];
    // The reference flattens NCHW (channel-major); transpose before flattening to match its fc layout.
    const features = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, -1]) as Tensor2D;
    return tf.add(tf.matMul(features, get('fc.weight') as Tensor2D, false, true), get('fc.bias')) as Tensor2D;
  });
}
