/**
 * A writer to be killed mid-write (local.test.ts): it starts `create(key)` of 1 MiB on a local store, writes half
 * of the temp file, prints `half-written`, and hangs until its parent SIGKILLs it.
 *
 *   node --import tsx tests/storage/helpers/killed-writer.ts <root> <key>
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createLocalStore } from '../../../shared/storage/local.ts';

const [root, key] = process.argv.slice(2);
if (root === undefined || key === undefined) throw new Error('usage: killed-writer.ts <root> <key>');

const probe = await open(process.execPath, 'r');
const proto = Object.getPrototypeOf(probe) as FileHandle;
await probe.close();
const writeFile = proto.writeFile;
proto.writeFile = async function (this: FileHandle, data: Uint8Array) {
  await writeFile.call(this, data.subarray(0, data.length >> 1));
  process.stdout.write('half-written\n');
  setInterval(() => undefined, 1000); // keep the process alive until the kill
  await new Promise(() => undefined);
} as FileHandle['writeFile'];

await createLocalStore({ root }).create(key, new Uint8Array(1 << 20).fill(7));
