/**
 * Output of every `inspect` (Docker's inspect.Inspect): the objects as an
 * indented JSON array (4 spaces), or `-f` applied to each, with the lookup
 * errors collected and reported together after the output (exit 1). A bad
 * template is exit 64, as in Docker.
 */
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import { Template, TemplateError } from './template.js';

export type InspectGetter = (ref: string) => Promise<unknown>;

export async function inspectAll(ctx: CliContext, refs: readonly string[], format: string, get: InspectGetter): Promise<void> {
  let tmpl: Template | undefined;
  if (format && format !== 'json') {
    try {
      tmpl = new Template(format);
    } catch (e) {
      throw new StatusError(64, `template parsing error: ${(e as Error).message}`);
    }
  }
  const errors: string[] = [];
  const elements: unknown[] = [];
  let text = '';
  for (const ref of refs) {
    let el: unknown;
    try {
      el = await get(ref);
    } catch (e) {
      errors.push((e as Error).message);
      continue;
    }
    if (tmpl) {
      try {
        text += `${tmpl.execute(el)}\n`;
      } catch (e) {
        errors.push(e instanceof TemplateError ? `template parsing error: ${e.message}` : (e as Error).message);
      }
    } else if (format === 'json') {
      text += `${JSON.stringify(el)}\n`;
    } else {
      elements.push(el);
    }
  }
  if (!format) text = `${elements.length ? JSON.stringify(elements, null, 4) : '[]'}\n`;
  ctx.out.write(text);
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}
