// Loads the engine (stock gradients + our fixes) once per test file, on the cpu backend by default.
import { tf } from '../../shared/engine/tf.ts';

await tf.setBackend('cpu');
