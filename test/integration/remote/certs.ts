/**
 * A throw-away PKI for the remote-access tests, made with openssl at test
 * time: a CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate signed by it, and a second CA with its own client certificate
 * (the one berthd must refuse). EC P-256 keys: fast to make.
 *
 * Laid out as the Docker CLI wants a DOCKER_CERT_PATH: `<dir>/client/{ca,cert,key}.pem`,
 * `<dir>/rogue/{ca,cert,key}.pem`; the server's files are `<dir>/server/{ca,cert,key}.pem`.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pki {
  dir: string;
  server: { ca: string; cert: string; key: string };
  /** DOCKER_CERT_PATH of a client the server trusts. */
  clientDir: string;
  /** DOCKER_CERT_PATH of a client whose certificate comes from another CA. */
  rogueDir: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}-ca-key.pem`, '-out', `${name}-ca.pem`, '-days', '2', '-subj', `/CN=berth test ${name} CA`], dir);
}

async function makeLeaf(dir: string, ca: string, name: string, ext: string): Promise<void> {
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca-key.pem`, '-CAcreateserial',
    '-out', `${name}-cert.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

export async function makePki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  await makeCa(dir, 'good');
  await makeCa(dir, 'rogue');
  await makeLeaf(dir, 'good', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await makeLeaf(dir, 'good', 'client', 'extendedKeyUsage=clientAuth\n');
  await makeLeaf(dir, 'rogue', 'rogueclient', 'extendedKeyUsage=clientAuth\n');
  const certPath = async (sub: string, ca: string, leaf: string) => {
    const d = join(dir, sub);
    await mkdir(d, { recursive: true });
    await copyFile(join(dir, `${ca}-ca.pem`), join(d, 'ca.pem'));
    await copyFile(join(dir, `${leaf}-cert.pem`), join(d, 'cert.pem'));
    await copyFile(join(dir, `${leaf}-key.pem`), join(d, 'key.pem'));
    return d;
  };
  const serverDir = await certPath('server', 'good', 'server');
  const clientDir = await certPath('client', 'good', 'client');
  // The rogue client trusts the real server (so only its own certificate is wrong).
  const rogueDir = await certPath('rogue', 'rogue', 'rogueclient');
  await copyFile(join(dir, 'good-ca.pem'), join(rogueDir, 'ca.pem'));
  return { dir, server: { ca: join(serverDir, 'ca.pem'), cert: join(serverDir, 'cert.pem'), key: join(serverDir, 'key.pem') }, clientDir, rogueDir };
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
