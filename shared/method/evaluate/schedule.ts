/**
 * The evaluation learning-rate schedule of the reference `evaluate_synset` (method.md section F), as pure functions
 * of the epoch index so that tests and callers can see exactly when the decay and the momentum reset happen.
 *
 * Reference (utils_baseline.py):
 *
 *     lr_schedule = [Epoch // 2 + 1]
 *     for ep in range(Epoch + 1):
 *         epoch('train', ...)
 *         if ep in lr_schedule:
 *             lr *= 0.1
 *             optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=0.0005)
 *
 * So `Epoch + 1` epochs run (1001 for Epoch = 1000); the decay happens AFTER epoch index `Epoch // 2 + 1` (501)
 * finishes, not at the half; and re-creating the optimizer throws the momentum buffers away.
 */

/** The factor the reference multiplies the lr by at the decay. */
export const LR_DECAY_FACTOR = 0.1;

export interface EvalSchedule {
  /** The configured `Epoch` (epoch_eval_train). */
  epochs: number;
  /** Epochs actually run: `range(Epoch + 1)`. */
  totalEpochs: number;
  /** The epoch index after which the lr is decayed and the momentum buffer dropped: `Epoch // 2 + 1`. */
  decayAfterEpoch: number;
}

export function evalSchedule(epochs: number): EvalSchedule {
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw new Error(`evalSchedule: expected a non-negative integer number of epochs, got ${epochs}`);
  }
  return { epochs, totalEpochs: epochs + 1, decayAfterEpoch: Math.floor(epochs / 2) + 1 };
}

/** The lr used during epoch index `epoch`: `baseLr` up to and including the decay epoch, `0.1 * baseLr` after. */
export function lrAt(epoch: number, baseLr: number, epochs: number): number {
  const s = evalSchedule(epochs);
  checkEpoch(epoch, s, 'lrAt');
  // Python's `lr *= 0.1` is one float64 multiply; the same product here, then used as a float32 step like torch.
  return epoch > s.decayAfterEpoch ? baseLr * LR_DECAY_FACTOR : baseLr;
}

/**
 * True when the optimizer is re-created after epoch index `epoch` finishes (dropping the momentum buffer). For
 * `epochs <= 2` the decay epoch is the last one (or beyond it), so the decay never affects a step.
 */
export function resetsMomentumAfter(epoch: number, epochs: number): boolean {
  const s = evalSchedule(epochs);
  checkEpoch(epoch, s, 'resetsMomentumAfter');
  return epoch === s.decayAfterEpoch;
}

function checkEpoch(epoch: number, s: EvalSchedule, fn: string): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= s.totalEpochs) {
    throw new Error(
      `${fn}: expected an epoch index in [0, ${s.totalEpochs}) for epochs = ${s.epochs}, got ${epoch}`,
    );
  }
}
