/**
 * A private OpenSSH server for one test file: Debian's sshd on a free
 * loopback port, with its own config, host key and authorized key, and a
 * PATH (sshd's SetEnv) whose `docker` and `berth` are this checkout's berth —
 * so `docker system dial-stdio`, which the Docker CLI runs on the far side
 * of ssh://, is berth's. The client side is an `ssh` wrapper (first in the
 * PATH given to the CLIs) that adds `-F <private ssh_config>`: the key, the
 * pinned host key, BatchMode. Nothing outside its temporary directory is
 * touched except /run/sshd, sshd's privilege-separation directory, created
 * when missing.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { berthBin } from '../../helpers/paths.js';
import { freePort } from './certs.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  /** Prepend to PATH for the client CLIs: holds the `ssh` wrapper. */
  clientBin: string;
  log(): string;
  stop(): Promise<void>;
}

export function skipWithoutSshd(): string | false {
  return existsSync(SSHD) && existsSync('/usr/bin/ssh') ? false : 'no openssh-server/openssh-client (scripts/install.sh installs them)';
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

export async function startSshd(dir: string): Promise<Sshd> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!existsSync('/run/sshd')) await mkdir('/run/sshd', { mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test-host', '-f', hostKey]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test-user', '-f', userKey]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${userKey}.pub`), { mode: 0o600 });
  // The far side's PATH: `docker` and `berth` are this checkout's CLI.
  const remoteBin = join(dir, 'remote-bin');
  await mkdir(remoteBin);
  for (const name of ['docker', 'berth']) {
    await writeFile(join(remoteBin, name), `#!/bin/sh\nexec ${process.execPath} ${berthBin} "$@"\n`, { mode: 0o755 });
  }
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PubkeyAuthentication yes', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no',
    `SetEnv PATH=${remoteBin}:/usr/local/bin:/usr/bin:/bin BERTH_NO_AUTOSTART=1`, 'LogLevel VERBOSE', '',
  ].join('\n'));
  // The client: its own config, key and pinned host key, through a wrapper first in PATH.
  const clientBin = join(dir, 'client-bin');
  await mkdir(clientBin);
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${(await readFile(`${hostKey}.pub`, 'utf8')).trim()}\n`);
  await writeFile(join(dir, 'ssh_config'), [
    'Host *', `  IdentityFile ${userKey}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
    '  StrictHostKeyChecking yes', '  BatchMode yes', '  LogLevel ERROR', '',
  ].join('\n'));
  await writeFile(join(clientBin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, 'ssh_config')} "$@"\n`, { mode: 0o755 });
  await chmod(userKey, 0o600);

  let output = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => { output += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { output += b.toString(); });
  await waitForPort(port, child, () => output);
  return {
    port, clientBin, log: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
