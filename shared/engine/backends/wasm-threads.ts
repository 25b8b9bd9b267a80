import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Lets tfjs-backend-wasm 4.22 start its threaded (pthreads + SIMD) build under Node, which it does not do on
 * its own (tfjs issue #3830). On an idle 2-core machine, 2 threads made a conv2d forward 70 -> 37 ms and a
 * matMul 7.3 -> 4.1 ms (docs/backends.md has the rest). Five things stand in the way; each patch lives only
 * for the duration of the backend's initialisation (`body`), except where noted:
 *
 * 1. The flag `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false when `IS_NODE` (the caller sets it).
 * 2. The pthread worker script and the module's main script are handed over as `Blob`s / `blob:` URLs, which
 *    Node's `worker_threads` cannot load. We record the text of Blobs created during initialisation, write it
 *    to files, and give workers those paths instead. The module stores the `Worker` class it saw
 *    (`global.Worker`, our subclass) and uses it for any later worker, so the subclass outlives `body`.
 * 3. The main script is the factory's source text, which refers to bundle-level `require$$N` variables
 *    (fs, path, ...) and `commonjsGlobal`; the file we write declares them first (the requires parsed from
 *    the bundle's own header).
 * 4. Emscripten refs a worker while it runs a pthread, and XNNPACK's pool threads never end, so the process
 *    would never exit: our workers stay unref'd.
 * 5. XNNPACK's pool is capped at `emscripten_num_logical_cores() / 2` (os.cpus().length / 2 under Node, to
 *    skip hyper-threads): on a 2-core machine that is 1. `os.cpus()` reports 2 x threads entries during
 *    initialisation, so exactly the requested count is used (the caller checks `getThreadsCount()`).
 */
export async function withNodeThreads<T>(threads: number, body: () => Promise<T>): Promise<T> {
  const require = createRequire(import.meta.url);
  const os = require('node:os') as typeof import('node:os');
  const workerThreads = require('node:worker_threads') as typeof import('node:worker_threads');
  const dir = mkdtempSync(join(tmpdir(), 'hoptm-wasm-threads-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

  const prelude = bundlePrelude(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const blobTexts = new WeakMap<Blob, string>();
  const urlFiles = new Map<string, string>();
  let files = 0;
  const writeScript = (text: string): string => {
    const path = join(dir, `script-${files++}.cjs`);
    writeFileSync(path, text);
    return path;
  };
  const mainScripts = new WeakMap<Blob, string>();

  const NodeBlob = globalThis.Blob;
  class RecordingBlob extends NodeBlob {
    constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
      super(parts, options);
      if (parts !== undefined && parts.every((p) => typeof p === 'string'))
        blobTexts.set(this, parts.join(''));
    }
  }
  const createObjectURL = URL.createObjectURL;
  const recordingCreateObjectURL = (blob: Blob): string => {
    const url = createObjectURL(blob);
    const text = blobTexts.get(blob);
    if (text !== undefined) urlFiles.set(url, writeScript(text));
    return url;
  };
  const NodeWorker = workerThreads.Worker;
  class FileWorker extends NodeWorker {
    constructor(script: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const url = String(script);
      // After initialisation URLs are no longer recorded; the only script ever loaded this way is the
      // pthread worker, written first.
      const file =
        urlFiles.get(url) ?? (url.startsWith('blob:') ? urlFiles.values().next().value : undefined);
      // Plain CommonJS scripts: the parent's flags (--import tsx, --input-type, ...) must not apply to them.
      super(file ?? script, { ...options, execArgv: [] });
      this.unref();
    }

    /**
     * Emscripten refs a worker while it runs a pthread; XNNPACK's pool threads run for the life of the
     * process, so the process could never exit. The main thread waits for them synchronously inside each
     * kernel, so they need not hold the event loop: they stay unref'd.
     */
    override ref(): void {}

    override postMessage(
      message: unknown,
      transferList?: readonly import('node:worker_threads').TransferListItem[],
    ): void {
      if (isLoadMessage(message) && message.urlOrBlob instanceof NodeBlob) {
        const blob = message.urlOrBlob;
        let file = mainScripts.get(blob);
        if (file === undefined) {
          const text = blobTexts.get(blob);
          if (text === undefined) throw new Error('wasm threads: the main script Blob was not recorded');
          file = writeScript(`${prelude}\n${text}`);
          mainScripts.set(blob, file);
        }
        super.postMessage({ ...message, urlOrBlob: file }, transferList);
        return;
      }
      super.postMessage(message, transferList);
    }
  }

  const cpus = os.cpus;
  const reported = (): import('node:os').CpuInfo[] => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]!);
  };
  const globals = globalThis as { Blob: typeof Blob };
  globals.Blob = RecordingBlob;
  URL.createObjectURL = recordingCreateObjectURL;
  (workerThreads as { Worker: typeof NodeWorker }).Worker = FileWorker;
  (os as { cpus: typeof os.cpus }).cpus = reported;
  try {
    return await body();
  } finally {
    globals.Blob = NodeBlob;
    URL.createObjectURL = createObjectURL;
    (workerThreads as { Worker: typeof NodeWorker }).Worker = NodeWorker;
    (os as { cpus: typeof os.cpus }).cpus = cpus;
  }
}

function isLoadMessage(message: unknown): message is { cmd: 'load'; urlOrBlob: unknown } {
  return typeof message === 'object' && message !== null && (message as { cmd?: unknown }).cmd === 'load';
}

/** `var require$$0 = require('fs'); ...`: the bundle-level requires that the factory's source refers to. */
function bundlePrelude(bundlePath: string): string {
  const head = readFileSync(bundlePath, 'utf8').slice(0, 4000);
  const lines = head.match(/^var require\$\$\d+ = require\('[\w:/.-]+'\);$/gm);
  if (lines === null)
    throw new Error(`wasm threads: no 'var require$$N = require(...)' lines at the top of ${bundlePath}`);
  return [...lines, 'var commonjsGlobal = globalThis;'].join('\n');
}
