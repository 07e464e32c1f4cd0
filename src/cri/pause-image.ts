/**
 * The image of a pod's infra container, which holds the pod's network
 * namespace while the pod's own containers come and go (Kubernetes' "pause"
 * container). The machines reach no registry.k8s.io, so berth makes it
 * locally, once, from the host's static busybox (Debian's busybox-static, an
 * install dependency): one layer with /bin/busybox, which sleeps for ever.
 * A sandbox stop kills it (timeout 0), so it needs no signal handling.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { SystemError } from '../errors.js';
import type { ImageService } from '../engine/images.js';

export const PAUSE_IMAGE = 'berth.local/pause:1';
const BUSYBOX = '/bin/busybox';

export class PauseImage {
  private making: Promise<string> | null = null;

  constructor(private readonly images: ImageService) {}

  /** The pause image's ID, made on first use; concurrent sandboxes share one making. */
  ensure(): Promise<string> {
    const have = this.images.tryResolve(PAUSE_IMAGE);
    if (have) return Promise.resolve(have.id);
    this.making ??= this.make().finally(() => { this.making = null; });
    return this.making;
  }

  private async make(): Promise<string> {
    const st = await stat(BUSYBOX).catch(() => null);
    if (!st?.isFile()) throw new SystemError(`pod sandboxes need ${BUSYBOX} (Debian package busybox-static) for their infra container`);
    const pack = tar.pack();
    pack.entry({ name: 'bin/', type: 'directory', mode: 0o755 });
    const entry = pack.entry({ name: 'bin/busybox', size: st.size, mode: 0o755 }, (e) => {
      if (e) pack.destroy(e); else pack.finalize();
    });
    createReadStream(BUSYBOX).on('error', (e) => pack.destroy(e)).pipe(entry);
    // tar-stream's pack is a streamx Readable, which the layer import reads as a Node one.
    const img = await this.images.import(pack as unknown as Readable, {
      repo: PAUSE_IMAGE, changes: ['ENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]'], message: 'berth pod infra container',
    });
    return img.id;
  }
}
