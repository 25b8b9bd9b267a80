import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses unknown input with a schema; on failure throws a ConfigError naming the schema's title and the
 * source (file, preset or flag set), followed by zod's readable list of every issue.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const title = (schema.meta()?.title as string | undefined) ?? 'configuration';
  throw new ConfigError(`Invalid ${title} in ${source}:\n${z.prettifyError(result.error)}`);
}
