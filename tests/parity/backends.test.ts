import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import {
  BACKEND_NAMES,
  BackendStartError,
  initBackend,
  parseBackendChoice,
  type BackendChoice,
} from '../../shared/engine/backends/index.ts';
import { activate } from '../../shared/engine/backends/activate.ts';
import { ENGINE_GRADIENTS } from '../../shared/engine/gradients/register.ts';
import { MAX_WASM_THREADS, defaultWasmThreads } from '../../shared/engine/backends/wasm.ts';
import * as webgpu from '../../shared/engine/backends/webgpu.ts';
import { TEST_BACKENDS, TEST_BACKEND_OPTIONS, forEachBackend } from '../helpers/backends.ts';

const BACKENDS_INDEX = fileURLToPath(new URL('../../shared/engine/backends/index.ts', import.meta.url));
const TENSORFLOW_MODULE = fileURLToPath(
  new URL('../../shared/engine/backends/tensorflow.ts', import.meta.url),
);
const TF_MODULE = fileURLToPath(new URL('../../shared/engine/tf.ts', import.meta.url));
const NO_ADAPTER =
  "backend 'webgpu' failed to start: no Vulkan adapter (is libvulkan1 + a Vulkan driver installed? see " +
  "scripts/install-system.sh; in a container NVIDIA_DRIVER_CAPABILITIES must include 'graphics')";

const TFJS_NODE_MISSING =
  '@tensorflow/tfjs-node-gpu is not installed (scripts/install-tfjs-node.sh --gpu); ' +
  '@tensorflow/tfjs-node is not installed (scripts/install-tfjs-node.sh)';

const silent = (): void => {};
const emptyDir = (): string => mkdtempSync(join(tmpdir(), 'hoptm-no-tfjs-node-'));
afterAll(async () => {
  await initBackend('cpu', silent);
});

/** Runs `code` (an ES module that may import TypeScript) in a fresh Node process; returns its stdout's last line. */
function runInChild(code: string, env: Record<string, string>): string {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (child.status !== 0) throw new Error(`child exited with ${child.status}: ${child.stderr}`);
  return child.stdout.trim().split('\n').at(-1) ?? '';
}

describe('parseBackendChoice', () => {
  it('accepts every backend and auto, case and spaces aside', () => {
    for (const name of [...BACKEND_NAMES, 'auto'])
      expect(parseBackendChoice(` ${name.toUpperCase()} `)).toBe(name);
  });

  it('throws when the name is unknown, listing the valid ones', () => {
    expect(() => parseBackendChoice('nope')).toThrowErrorMatchingInlineSnapshot(
      `[Error: unknown backend 'nope': expected one of 'cpu', 'wasm', 'webgpu', 'tensorflow', 'auto']`,
    );
  });
});

describe('initBackend', () => {
  it("throws when the choice is unknown ('nope'), naming the valid choices", async () => {
    await expect(initBackend('nope' as BackendChoice, silent)).rejects.toThrow(
      "unknown backend 'nope': expected one of 'cpu', 'wasm', 'webgpu', 'tensorflow', 'auto'",
    );
  });

  it('auto picks a backend that is then active, and says why', async () => {
    const logs: string[] = [];
    const info = await initBackend('auto', (msg) => logs.push(msg), TEST_BACKEND_OPTIONS);
    expect(BACKEND_NAMES).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    expect(info.reason).toBeTruthy();
    expect(logs).toEqual([expect.stringContaining(`auto chose '${info.name}'`)]);
    expect(logs[0]).toContain(info.reason);
    if (info.name !== 'tensorflow') expect(info.reason).toMatch(/passed over: tensorflow: /);
    if (info.name === 'wasm') expect(info.reason).toMatch(/webgpu: /);
  });

  it.runIf(TEST_BACKENDS.includes('tensorflow'))(
    'auto picks tensorflow where tfjs-node is installed (HOPTM_TEST_BACKENDS has tensorflow), our gradients still in force',
    async () => {
      const info = await initBackend('auto', silent, TEST_BACKEND_OPTIONS);
      expect(info.name).toBe('tensorflow');
      // The CPU build loads the project's op library (scripts/install-tfjs-node.sh builds both).
      expect(info.adapter).toMatch(
        /^(@tensorflow\/tfjs-node \(TensorFlow \d+\.\d+\.\d+, CPU, fused instance norm\)|@tensorflow\/tfjs-node-gpu \(TensorFlow \d+\.\d+\.\d+, GPU\))$/,
      );
      expect(info.reason).toBe('tfjs-node (libtensorflow) is installed');
      // Loading tfjs-node must not have put tfjs's stock (second-order-wrong) gradients back.
      for (const g of ENGINE_GRADIENTS) expect(tf.getGradient(g.kernelName), g.kernelName).toBe(g);
    },
  );

  it('auto passes over tensorflow, saying why, when tfjs-node is not installed (child process, empty search roots)', () => {
    const out = runInChild(
      `const { initBackend } = await import(${JSON.stringify(pathToFileURL(BACKENDS_INDEX).href)});
       const info = await initBackend('auto', () => {}, { tfjsNodeRoots: [${JSON.stringify(emptyDir())}] });
       console.log(JSON.stringify(info));`,
      {},
    );
    const info = JSON.parse(out) as { name: string; reason: string };
    expect(info.name).not.toBe('tensorflow');
    expect(info.reason).toContain(`passed over: tensorflow: ${TFJS_NODE_MISSING}`);
  });

  it('switches between backends in one process, with equal results', async () => {
    const results: number[][] = [];
    for (const name of [...TEST_BACKENDS, TEST_BACKENDS[0]!]) {
      const info = await initBackend(name, silent, TEST_BACKEND_OPTIONS);
      expect([info.name, tf.getBackend()]).toEqual([name, name]);
      const y = tf.tidy(() =>
        tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])),
      );
      results.push(Array.from(await y.data()));
      y.dispose();
    }
    for (const r of results) expect(r).toEqual([19, 22, 43, 50]);
  });
});

describe('a backend that cannot start fails with an error naming it and the cause', () => {
  it('webgpu with no Vulkan driver (child process, VK_ICD_FILENAMES -> empty)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hoptm-no-icd-'));
    writeFileSync(join(dir, 'none.json'), '{}');
    const out = runInChild(
      `const { initBackend } = await import(${JSON.stringify(pathToFileURL(BACKENDS_INDEX).href)});
       try { await initBackend('webgpu', () => {}); console.log('started'); }
       catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
      { VK_ICD_FILENAMES: join(dir, 'none.json'), VK_DRIVER_FILES: join(dir, 'none.json') },
    );
    expect(JSON.parse(out)).toEqual({ name: 'BackendStartError', message: NO_ADAPTER });
  });

  it('webgpu when the adapter request finds none (injected GPU)', async () => {
    await expect(webgpu.start({ gpu: { requestAdapter: async () => null } })).rejects.toThrow(NO_ADAPTER);
  });

  it('webgpu when the adapter request throws (injected GPU)', async () => {
    const gpu = { requestAdapter: () => Promise.reject(new Error('device lost')) };
    await expect(webgpu.start({ gpu })).rejects.toThrow(`${NO_ADAPTER}: requestAdapter threw device lost`);
  });

  it('tensorflow when neither tfjs-node package is installed (child process, empty search roots)', () => {
    const out = runInChild(
      `const { initBackend } = await import(${JSON.stringify(pathToFileURL(BACKENDS_INDEX).href)});
       try { await initBackend('tensorflow', () => {}, { tfjsNodeRoots: [${JSON.stringify(emptyDir())}] }); console.log('started'); }
       catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
      {},
    );
    expect(JSON.parse(out)).toEqual({
      name: 'BackendStartError',
      message: `backend 'tensorflow' failed to start: ${TFJS_NODE_MISSING}`,
    });
  });

  it('tensorflow when the package is there but its native binding is not (child process)', () => {
    const root = emptyDir();
    const pkg = join(root, 'node_modules/@tensorflow/tfjs-node');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{ "name": "@tensorflow/tfjs-node", "main": "index.js" }');
    writeFileSync(
      join(pkg, 'index.js'),
      "throw new Error('libtensorflow.so.2: cannot open shared object file');",
    );
    const out = runInChild(
      `const { initBackend } = await import(${JSON.stringify(pathToFileURL(BACKENDS_INDEX).href)});
       try { await initBackend('tensorflow', () => {}, { tfjsNodeRoots: [${JSON.stringify(root)}] }); console.log('started'); }
       catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
      {},
    );
    expect(JSON.parse(out)).toEqual({
      name: 'BackendStartError',
      message:
        "backend 'tensorflow' failed to start: @tensorflow/tfjs-node-gpu is not installed (scripts/install-tfjs-node.sh --gpu); " +
        `@tensorflow/tfjs-node (${join(pkg, 'index.js')}) failed to load: libtensorflow.so.2: cannot open shared object file`,
    });
  });

  it('tensorflow passes over an installed tfjs-node-gpu when there is no NVIDIA driver (child process)', () => {
    const root = emptyDir();
    const pkg = join(root, 'node_modules/@tensorflow/tfjs-node-gpu');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{ "name": "@tensorflow/tfjs-node-gpu", "main": "index.js" }');
    writeFileSync(join(pkg, 'index.js'), "throw new Error('loaded without a driver');");
    const out = runInChild(
      `const tensorflow = await import(${JSON.stringify(pathToFileURL(TENSORFLOW_MODULE).href)});
       try { await tensorflow.start({ roots: [${JSON.stringify(root)}], nvidiaDriver: false }); console.log('started'); }
       catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`,
      {},
    );
    expect(JSON.parse(out)).toEqual({
      name: 'BackendStartError',
      message:
        "backend 'tensorflow' failed to start: @tensorflow/tfjs-node-gpu is installed but there is no NVIDIA driver " +
        '(/proc/driver/nvidia/version); @tensorflow/tfjs-node is not installed (scripts/install-tfjs-node.sh)',
    });
  });

  it("a tfjs backend whose initialisation throws: tfjs's reason is in the error", async () => {
    const name = 'hoptm-broken';
    tf.registerBackend(name, () => {
      throw new Error('no device here');
    });
    try {
      const error = await activate(name as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendStartError);
      expect((error as Error).message).toMatch(
        /^backend 'hoptm-broken' failed to start: tfjs could not initialise it: .*no device here/,
      );
    } finally {
      tf.removeBackend(name);
    }
  });

  it(`wasm with a thread count outside [1, ${MAX_WASM_THREADS}]`, async () => {
    await expect(initBackend('wasm', silent, { wasmThreads: 0 })).rejects.toThrow(
      `backend 'wasm' failed to start: threads must be an integer in [1, ${MAX_WASM_THREADS}], got 0`,
    );
  });

  it('wasm asked for another thread count than the one it already runs', async () => {
    const running = (await initBackend('wasm', silent, TEST_BACKEND_OPTIONS)).threads!;
    const other = running === 1 ? 2 : 1;
    await expect(initBackend('wasm', silent, { wasmThreads: other })).rejects.toThrow(
      `backend 'wasm' failed to start: asked for ${other} threads, but the wasm backend of this process already runs ${running} (fixed by its first start)`,
    );
  });
});

describe('wasm threads', () => {
  it('defaults to 1 thread below 4 cores, else one per core up to 8', () => {
    expect([1, 2, 3, 4, 6, 16].map((cores) => defaultWasmThreads(cores))).toEqual([1, 1, 1, 4, 6, 8]);
  });

  it('the threaded build (2 threads, child process) matches cpu through first and second order, and exits', () => {
    const out = runInChild(
      `const { initBackend } = await import(${JSON.stringify(pathToFileURL(BACKENDS_INDEX).href)});
       const { tf } = await import(${JSON.stringify(pathToFileURL(TF_MODULE).href)});
       const info = await initBackend('wasm', () => {}, { wasmThreads: 2 });
       const values = (n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(k * i + 1));
       const run = async (backend) => {
         await tf.setBackend(backend);
         const out = tf.tidy(() => {
           const x = tf.tensor4d(values(2 * 6 * 6 * 3, 1), [2, 6, 6, 3]);
           const inner = (w) => tf.sum(tf.mul(tf.grad((xx) => tf.sum(tf.square(tf.conv2d(xx, w, 1, 'same'))))(x), x));
           return tf.grad(inner)(tf.tensor4d(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]));
         });
         const data = await out.data();
         out.dispose();
         return data;
       };
       const [wasm, cpu] = [await run('wasm'), await run('cpu')];
       const scale = Math.max(...cpu.map(Math.abs));
       console.log(JSON.stringify({ threads: info.threads, relError: Math.max(...wasm.map((v, i) => Math.abs(v - cpu[i]))) / scale }));`,
      {},
    );
    const result = JSON.parse(out) as { threads: number; relError: number };
    expect(result.threads).toBe(2);
    expect(result.relError).toBeLessThan(1e-5);
  });
});

// The harness itself: an excluded test is registered as skipped, the reason in its title.
forEachBackend(
  'forEachBackend',
  (backend) => {
    it('runs on the backend it names', () => {
      expect(tf.getBackend()).toBe(backend);
    });
    it('an excluded case', () => {
      throw new Error('excluded tests must not run');
    });
  },
  { backends: ['cpu'], exclusions: { cpu: { 'an excluded case': 'demonstrates exclusions' } } },
);
