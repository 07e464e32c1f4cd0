/** Host-side probes for network tests: free ports and HTTP GETs into published ports. */
import http from 'node:http';
import net from 'node:net';

/** GET http://host:port/path from the host, retried while the server in the container starts. */
export async function fetchText(host: string, port: number, path = '/', timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = http.get({ host, port, path, timeout: 2000, agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
      });
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`GET http://${host}:${port}${path}: ${(last as Error)?.message}`);
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '0.0.0.0', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
