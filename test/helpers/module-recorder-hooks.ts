/** Node module hooks for module-recorder.ts: each resolved URL is appended to the log file. */
import { appendFileSync } from 'node:fs';

type ResolveResult = { url: string };
type NextResolve = (specifier: string, context: unknown) => Promise<ResolveResult>;

let file = '';

export function initialize(data: { file: string }): void {
  file = data.file;
}

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<ResolveResult> {
  const resolved = await next(specifier, context);
  appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
