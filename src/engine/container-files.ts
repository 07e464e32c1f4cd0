/**
 * The files Docker bind-mounts into every container — /etc/hostname,
 * /etc/hosts, /etc/resolv.conf — written into the container's directory on
 * the host, so they stay out of the image layers and out of `commit`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';

export interface EtcFiles { hostname: string; hosts: string; resolvConf: string }

export function etcFilePaths(containerDir: string): EtcFiles {
  return { hostname: join(containerDir, 'hostname'), hosts: join(containerDir, 'hosts'), resolvConf: join(containerDir, 'resolv.conf') };
}

async function hostResolvConf(): Promise<string> {
  try {
    const text = await readFile('/etc/resolv.conf', 'utf8');
    // A loopback resolver (systemd-resolved, dnsmasq on 127.0.0.53) is unreachable from a
    // private network namespace; dockerd drops those lines the same way.
    return text.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1)/.test(l)).join('\n');
  } catch {
    return '';
  }
}

export async function writeEtcFiles(containerDir: string, o: { hostname: string; domainname: string; networkMode: string }): Promise<EtcFiles> {
  const p = etcFilePaths(containerDir);
  if (o.networkMode === 'host') {
    await writeFile(p.hostname, `${o.hostname || hostHostname()}\n`);
    await writeFile(p.hosts, await readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n'));
    await writeFile(p.resolvConf, await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    return p;
  }
  const fqdn = o.domainname ? `${o.hostname}.${o.domainname}` : o.hostname;
  await writeFile(p.hostname, `${o.hostname}\n`);
  await writeFile(p.hosts, [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    // With --network none there is no address of its own; the name still resolves locally.
    `127.0.1.1\t${fqdn === o.hostname ? o.hostname : `${fqdn} ${o.hostname}`}`,
    '',
  ].join('\n'));
  await writeFile(p.resolvConf, await hostResolvConf());
  return p;
}
