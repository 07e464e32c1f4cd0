/**
 * The exec ("JSON") form of RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK CMD and
 * the list form of COPY, ADD, VOLUME.
 *
 * Docker's rule: if the arguments parse as a JSON array of strings, that is
 * the exec form; if they do not parse as JSON at all — `["a", 'b']`, a
 * Windows path with unescaped backslashes, trailing text — the whole text is
 * silently the shell form. The one case Docker refuses is valid JSON that is
 * not an array of strings (`CMD [1, 2]`, `CMD ["a", null]`): "when using JSON
 * array syntax, arrays must be comprised of strings only".
 */
import { InvalidParameterError } from '../../errors.js';

/** The strings of a JSON array, or undefined when `rest` is not JSON (shell form). */
export function parseJsonArray(rest: string): string[] | undefined {
  const text = rest.trimStart();
  if (!text.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v): v is string => typeof v === 'string')) {
    throw new InvalidParameterError('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value;
}
