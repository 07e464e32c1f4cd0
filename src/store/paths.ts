/**
 * Where berth keeps things. The data root (`--data-root`, default
 * /var/lib/berth) survives reboots; the exec root (`--exec-root`, default
 * /run/berth) holds what dies with the machine: OCI bundles, conmon's attach
 * sockets and exit files. conmon's attach socket path must fit in sun_path
 * (107 bytes), which is why the exec-root subdirectories have one-letter names.
 */
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';

export class DataPaths {
  constructor(readonly dataRoot: string, readonly execRoot: string) {}

  get db(): string { return join(this.dataRoot, 'berth.db'); }
  get tmp(): string { return join(this.dataRoot, 'tmp'); }
  get layers(): string { return join(this.dataRoot, 'layers'); }
  get blobs(): string { return join(this.dataRoot, 'blobs', 'sha256'); }
  get containers(): string { return join(this.dataRoot, 'containers'); }
  get volumes(): string { return join(this.dataRoot, 'volumes'); }
  /** Chowned copies of layers per `--userns-remap` map, where idmapped mounts do not work (store/remapped-layers.ts). */
  get remapped(): string { return join(this.dataRoot, 'remapped'); }

  /** `layers/<hex>`; its `diff/` is the overlay lower dir. */
  layerDir(chainId: string): string { return join(this.layers, hex(chainId)); }
  layerDiff(chainId: string): string { return join(this.layerDir(chainId), 'diff'); }

  containerDir(id: string): string { return join(this.containers, id); }
  volumeDir(name: string): string { return join(this.volumes, name); }
  volumeData(name: string): string { return join(this.volumes, name, '_data'); }

  /** OCI bundle of a container: config.json, conmon's attach socket, ctl fifo, pid files. */
  bundleDir(id: string): string { return join(this.execRoot, 'c', id); }
  /** conmon --exit-dir for containers: file <id> holds the exit code. */
  get exitDir(): string { return join(this.execRoot, 'exits'); }
  /** Per-exec-session dir (attach socket, exit dir). */
  execDir(execId: string): string { return join(this.execRoot, 'e', execId.slice(0, 32)); }
  /** OCI runtime state (--root of runc/crun), kept apart from other engines'. */
  runtimeState(runtime: string): string { return join(this.execRoot, 'runtime', runtime); }
  /** netavark's `--config`: aardvark-dns's per-network files and pid live here. */
  get netavarkConfig(): string { return join(this.execRoot, 'networks'); }
  /** One JSON file per running container's network sandbox (network/sandbox.ts). */
  get sandboxes(): string { return join(this.execRoot, 'n'); }
  /** A running remapped container's user namespace, bound on `userns/<id>` (runtime/userns.ts). */
  usernsFile(id: string): string { return join(this.execRoot, 'userns', id); }
  /** One JSON file per running container with network faults (engine/faults.ts). */
  get faults(): string { return join(this.execRoot, 'faults'); }
  get socketDefault(): string { return join(this.execRoot, 'berth.sock'); }
  /** Seccomp profiles compiled to BPF (runtime/seccomp-bpf.ts), by the SHA-256 of the profile. */
  get seccompCache(): string { return join(this.execRoot, 'seccomp'); }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The hex part of a sha256 digest (`sha256:<hex>` or the bare hex), which
 * names files in the stores. Anything else is refused here, whatever the
 * caller checked: a digest from a manifest or an archive must never become
 * `../` in a path.
 */
export function hex(digest: string): string {
  const h = digest.startsWith('sha256:') ? digest.slice(7) : digest;
  if (!SHA256_HEX.test(h)) throw new InvalidParameterError(`invalid digest: ${JSON.stringify(digest.slice(0, 100))}`);
  return h;
}
