// Integration tests train real networks: the wasm backend (the CPU workhorse), selected once per file.
import { initBackend } from '../../shared/engine/backends/index.ts';

await initBackend('wasm', () => undefined);
