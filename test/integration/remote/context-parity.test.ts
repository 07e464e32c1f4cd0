/**
 * `berth context …` prints what `docker context …` prints (Docker 28):
 * both CLIs run the same command lines on one DOCKER_CONFIG and their
 * stdout, stderr and exit status are compared — only the default
 * endpoint, which is each engine's own socket, differs. No daemon needed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCliPath, runCommand, skipWithoutDocker } from '../../helpers/daemon.js';
import { berthBin } from '../../helpers/paths.js';

const skip = skipWithoutDocker();
let config = '';

before(async () => {
  if (skip) return;
  config = await mkdtemp(join(tmpdir(), 'berth-ctx-parity-'));
});

after(async () => {
  if (config) await rm(config, { recursive: true, force: true });
});

const CLEAN = { DOCKER_HOST: undefined, BERTH_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, DOCKER_CONTEXT: undefined };

/**
 * The default context's endpoint is each engine's own socket: shown as
 * <default>, and (its length setting a table column's width) runs of
 * blanks as one gap. The tables are compared exactly under DOCKER_HOST,
 * which makes the default endpoint the same for both.
 */
const norm = (s: string) => s.replace(/unix:\/\/\/(var\/run\/docker|run\/berth\/berth)\.sock/g, '<default>').replace(/ {2,}/g, '  ').replace(/ +$/gm, '');

async function both(args: string[], env: Record<string, string> = {}) {
  const opts = { cwd: config, env: { ...CLEAN, DOCKER_CONFIG: config, BERTH_NO_AUTOSTART: '1', ...env } };
  const d = await runCommand(dockerCliPath()!, args, opts);
  const b = await runCommand(process.execPath, [berthBin, ...args], opts);
  return { d, b };
}

async function same(args: string[], env: Record<string, string> = {}): Promise<void> {
  const { d, b } = await both(args, env);
  const what = `${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}context ${args.slice(1).join(' ')}`;
  assert.equal(b.code, d.code, `${what}: exit status (docker: ${d.stderr})`);
  // Under DOCKER_HOST both show the same default endpoint: byte for byte, alignment included.
  const n = env.DOCKER_HOST ? (x: string) => x : norm;
  assert.equal(n(b.stdout), n(d.stdout), `${what}: stdout`);
  assert.equal(b.stderr, d.stderr, `${what}: stderr`);
}

test('context ls, show, use, rm and create --from do what the Docker CLI does', { skip }, async () => {
  const made = await runCommand(dockerCliPath()!, ['context', 'create', 'remote-a', '--description', 'first remote', '--docker', 'host=tcp://10.1.2.3:2376'],
    { env: { ...CLEAN, DOCKER_CONFIG: config } });
  assert.equal(made.code, 0, made.stderr);

  // `use default` with no config.json yet writes none (Docker leaves the file alone when nothing changes).
  await same(['context', 'use', 'default']);
  await assert.rejects(readFile(join(config, 'config.json')));
  for (const format of [[], ['--format', 'json'], ['--format', '{{json .}}'], ['-q'], ['--format', '{{.Name}} {{.Current}}']]) {
    await same(['context', 'ls', ...format]);
  }
  // A current context that does not exist is listed, with its error cut as Docker cuts it.
  await same(['context', 'ls'], { DOCKER_CONTEXT: 'gone' });
  await same(['context', 'ls', '--format', 'json'], { DOCKER_CONTEXT: 'gone' });
  await same(['context', 'show'], { DOCKER_CONTEXT: 'remote-a' });
  // DOCKER_HOST wins over any context, and both say so.
  await same(['context', 'ls'], { DOCKER_HOST: 'unix:///nowhere.sock' });
  await same(['context', 'ls'], { DOCKER_HOST: 'unix:///nowhere.sock', DOCKER_CONTEXT: 'gone' });
  await same(['context', 'use', 'remote-a'], { DOCKER_HOST: 'unix:///nowhere.sock' });
  await same(['context', 'use', 'default'], { DOCKER_HOST: 'unix:///nowhere.sock' });
  await same(['context', 'use', 'x']);
  await same(['context', 'use', 'missing']);

  // create --from (or from the current context) copies the context, description included, as Docker's does.
  const inspected = async (name: string) => {
    const r = await runCommand(dockerCliPath()!, ['context', 'inspect', name], { env: { ...CLEAN, DOCKER_CONFIG: config } });
    assert.equal(r.code, 0, r.stderr);
    const [c] = JSON.parse(r.stdout);
    return { Metadata: c.Metadata, Endpoints: c.Endpoints, TLSMaterial: c.TLSMaterial };
  };
  for (const [name, args, env] of [
    ['from', ['--from', 'remote-a'], {}], ['from-desc', ['--from', 'remote-a', '--description', 'new'], {}], ['current', [], { DOCKER_CONTEXT: 'remote-a' }],
  ] as const) {
    const opts = { cwd: config, env: { ...CLEAN, DOCKER_CONFIG: config, BERTH_NO_AUTOSTART: '1', ...env } };
    const d = await runCommand(dockerCliPath()!, ['context', 'create', `d-${name}`, ...args], opts);
    const b = await runCommand(process.execPath, [berthBin, 'context', 'create', `b-${name}`, ...args], opts);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await inspected(`b-${name}`), await inspected(`d-${name}`), name);
  }

  await same(['context', 'rm', 'missing']);
  await same(['context', 'rm', 'default', 'missing']);
  await same(['context', 'rm', 'remote-a'], { DOCKER_CONTEXT: 'remote-a' });
  await same(['context', 'inspect', 'missing']);
  await same(['context', 'update', 'missing', '--description', 'x']);
  await same(['context', 'export', 'missing', join(config, 'never.tar')]);
  await same(['context', 'import', 'default', join(config, 'never.tar')]);
  await same(['context', 'import', 'from-dir', config]);
  await same(['context', 'import', 'from-nothing', join(config, 'nothing.tar')]);
  await same(['context', 'export', 'remote-a', join(config, 'no-such-dir', 'x.tar')]);
});
