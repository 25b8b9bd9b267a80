import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import { testStore } from './contract.ts';

testStore('memory', () => createMemoryStore());

describe('memory store', () => {
  it('gives each call its own private store', async () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    await a.create('k', Uint8Array.of(1));
    expect(await b.exists('k')).toBe(false);
    expect(a.location).toBe('memory://');
  });
});
