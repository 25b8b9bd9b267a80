/**
 * PyTorch SGD with momentum (no dampening, no Nesterov, no weight decay): buf = mu * buf + g (buf = g on
 * the first step), p -= lr * buf. Used for the synthetic images and the learnable lr (method.md A.2).
 * Pure: returns new arrays.
 */
export function sgdMomentum(
  param: Float32Array,
  grad: Float32Array,
  buf: Float32Array | null,
  lr: number,
  momentum: number,
): { param: Float32Array; buf: Float32Array } {
  if (param.length !== grad.length || (buf !== null && buf.length !== param.length)) {
    throw new Error(
      `sgdMomentum: parameter (${param.length}), gradient (${grad.length}) and momentum (${buf?.length}) sizes differ`,
    );
  }
  const nextBuf = buf === null ? grad.slice() : buf.map((b, i) => momentum * b + grad[i]!);
  return { param: param.map((p, i) => p - lr * nextBuf[i]!), buf: nextBuf };
}

/** The same update for one scalar (the learnable lr). */
export function sgdMomentumScalar(
  param: number,
  grad: number,
  buf: number | null,
  lr: number,
  momentum: number,
): { param: number; buf: number } {
  const nextBuf = buf === null ? grad : momentum * buf + grad;
  return { param: param - lr * nextBuf, buf: nextBuf };
}
