/**
 * Docker credential helpers (`docker-credential-<name>`, the protocol of
 * docker/docker-credential-helpers): the only place berth runs one.
 *
 * - `get`: the server address on stdin; stdout is
 *   `{"ServerURL","Username","Secret"}`. A `Username` of `<token>` means the
 *   secret is an identity token. A helper that has nothing answers non-zero
 *   with `credentials not found in native keychain`: that is "no
 *   credentials", not an error.
 * - `store`: that JSON on stdin. `erase`: the server address on stdin.
 *
 * A configured helper that is not installed is an error naming it, in
 * Docker's words (`error getting credentials - err: exec:
 * "docker-credential-x": executable file not found in $PATH`).
 */
import { spawn } from 'node:child_process';
import { SystemError } from '../../errors.js';

export interface HelperCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

/** The Username a helper stores for identity tokens. */
export const TOKEN_USERNAME = '<token>';
const NOT_FOUND = 'credentials not found in native keychain';
const HELPER_TIMEOUT_MS = 30_000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(program: string, action: string, input: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    // Own timer rather than spawn's `timeout`, whose timer outlives a helper that never started.
    const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a helper that exits without reading stdin
    child.stdin.end(input);
  });
}

function helperProgram(helper: string): string {
  return `docker-credential-${helper}`;
}

async function invoke(helper: string, action: 'get' | 'store' | 'erase', input: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const program = helperProgram(helper);
  const verb = action === 'get' ? 'getting' : action === 'store' ? 'storing' : 'erasing';
  try {
    return await run(program, action, input, env);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? `exec: "${program}": executable file not found in $PATH` : e.message;
    throw new SystemError(`error ${verb} credentials - err: ${why}, out: \`\``, { cause: err });
  }
}

function failed(action: string, r: RunResult): SystemError {
  const out = (r.stdout.trim() || r.stderr.trim());
  return new SystemError(`error ${action} credentials - err: exit status ${r.code}, out: \`${out}\``);
}

/** Credentials the helper holds for `serverAddress`; undefined when it has none. */
export async function helperGet(helper: string, serverAddress: string, env?: NodeJS.ProcessEnv): Promise<HelperCredentials | undefined> {
  const r = await invoke(helper, 'get', serverAddress, env);
  if (r.code !== 0) {
    if (r.stdout.includes(NOT_FOUND) || r.stderr.includes(NOT_FOUND)) return undefined;
    throw failed('getting', r);
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(r.stdout) as typeof doc;
  } catch {
    throw new SystemError(`error getting credentials - err: invalid JSON from ${helperProgram(helper)}, out: \`${r.stdout.trim()}\``);
  }
  const username = typeof doc.Username === 'string' ? doc.Username : '';
  const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
  if (!username && !secret) return undefined;
  if (username === TOKEN_USERNAME) return { identityToken: secret };
  return { username, password: secret };
}

export async function helperStore(helper: string, serverAddress: string, creds: HelperCredentials, env?: NodeJS.ProcessEnv): Promise<void> {
  const payload = creds.identityToken
    ? { ServerURL: serverAddress, Username: TOKEN_USERNAME, Secret: creds.identityToken }
    : { ServerURL: serverAddress, Username: creds.username ?? '', Secret: creds.password ?? '' };
  const r = await invoke(helper, 'store', JSON.stringify(payload), env);
  if (r.code !== 0) throw failed('storing', r);
}

/** Removes the helper's credentials; a helper that had none is not an error. */
export async function helperErase(helper: string, serverAddress: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const r = await invoke(helper, 'erase', serverAddress, env);
  if (r.code !== 0 && !(r.stdout.includes(NOT_FOUND) || r.stderr.includes(NOT_FOUND))) throw failed('erasing', r);
}
