import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../../shared/storage/errors.ts';
import {
  isValidKey,
  keyAncestors,
  keyHasPrefix,
  validateKey,
  validatePrefix,
} from '../../shared/storage/keys.ts';
import { INVALID_KEYS } from './contract.ts';

describe('key rules', () => {
  it.each(INVALID_KEYS)('refuses %j (%s), quoting it', (key, rule) => {
    expect(() => validateKey(key)).toThrow(InvalidKeyError);
    expect(() => validateKey(key)).toThrow(`Invalid artifact key ${JSON.stringify(key)}: `);
    expect(() => validateKey(key)).toThrow(rule);
    expect(isValidKey(key)).toBe(false);
  });

  it('quotes the key exactly, escapes included', () => {
    expect(() => validateKey('a/../b')).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyError: Invalid artifact key "a/../b": a key must not contain '..' segments]`,
    );
    expect(() => validateKey('new\nline')).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyError: Invalid artifact key "new\\nline": segment "new\\nline" has characters outside [A-Za-z0-9._=-]]`,
    );
  });

  it('refuses a non-string key from untyped callers', () => {
    expect(() => validateKey(undefined as unknown as string)).toThrow(
      'a key must be a string, got undefined',
    );
  });

  it('returns a valid key unchanged', () => {
    expect(validateKey('run-1/expert/0/epoch/0001.safetensors')).toBe(
      'run-1/expert/0/epoch/0001.safetensors',
    );
    expect(validateKey('lr=0.01_ipc=10')).toBe('lr=0.01_ipc=10');
  });

  it("a prefix is '' or a key, never with a trailing '/'", () => {
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('run1/expert')).toBe('run1/expert');
    expect(() => validatePrefix('run1/expert/')).toThrow(
      `Invalid artifact key "run1/expert/": a key must not end with '/' (a list prefix is '' or a key, without a trailing '/')`,
    );
  });

  it('prefixes match whole segments', () => {
    expect(keyHasPrefix('a/b/c', '')).toBe(true);
    expect(keyHasPrefix('a/b/c', 'a/b')).toBe(true);
    expect(keyHasPrefix('a/b', 'a/b')).toBe(true);
    expect(keyHasPrefix('a/bc/x', 'a/b')).toBe(false);
    expect(keyHasPrefix('a/b.json', 'a/b')).toBe(false);
  });

  it('lists ancestors nearest last', () => {
    expect(keyAncestors('a/b/c')).toEqual(['a', 'a/b']);
    expect(keyAncestors('a')).toEqual([]);
  });
});
