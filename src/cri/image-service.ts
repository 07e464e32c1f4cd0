/**
 * The CRI's ImageService on berth's image store: the same images `berth
 * images` lists, pulled by the same distribution client.
 */
import { statfs } from 'node:fs/promises';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { AuthConfig } from '../engine/distribution.js';
import type { ImageRecord } from '../store/image-store.js';
import { stringList } from './validate.js';

type Req = Record<string, any>;

function imageArg(spec: Req | null | undefined): string {
  const ref = spec?.image;
  if (typeof ref !== 'string' || ref === '') throw new InvalidParameterError('image must be set');
  stringList([ref], 'image');
  return ref;
}

/** The CRI's AuthConfig as the distribution client's; `auth` is base64 of `user:password`, as in Docker's config. */
function authOf(a: Req | null | undefined): AuthConfig | undefined {
  if (!a) return undefined;
  let { username, password } = a as { username: string; password: string };
  if (a.auth) {
    const decoded = Buffer.from(String(a.auth), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new InvalidParameterError('auth must be base64 of "username:password"');
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  if (!username && !a.identityToken && !a.registryToken) return undefined;
  return { username, password, serveraddress: a.serverAddress, identitytoken: a.identityToken, registrytoken: a.registryToken };
}

export class ImageService {
  constructor(private readonly engine: Engine) {}

  private view(img: ImageRecord): Req {
    const user = img.config.config?.User ?? '';
    const uidPart = user.split(':')[0];
    const numeric = /^\d+$/.test(uidPart);
    return {
      id: img.id, repoTags: this.engine.images.repoTags(img.id), repoDigests: this.engine.images.repoDigests(img.id),
      size: String(this.engine.images.size(img)),
      ...(numeric ? { uid: { value: uidPart } } : {}), username: numeric ? '' : uidPart,
      spec: { image: img.id }, pinned: false,
    };
  }

  list(req: Req): Req {
    const wanted = req.filter?.image?.image;
    if (wanted) {
      const img = this.engine.images.tryResolve(wanted);
      return { images: img ? [this.view(img)] : [] };
    }
    return { images: this.engine.images.store.list().map((img) => this.view(img)) };
  }

  /** An image that is not there is an empty answer, not an error (the CRI's contract). */
  status(req: Req): Req {
    const img = this.tryResolve(imageArg(req.image));
    if (!img) return {};
    const info: Record<string, string> = {};
    if (req.verbose) info.info = JSON.stringify({ imageSpec: img.config });
    return { image: this.view(img), info };
  }

  async pull(req: Req): Promise<Req> {
    const ref = imageArg(req.image);
    await this.engine.distribution.pull(ref, { auth: authOf(req.auth), progress: () => undefined });
    const img = this.engine.images.resolve(ref);
    return { imageRef: img.id };
  }

  /**
   * Removes the image a reference names with all its names, as containerd's
   * CRI does (crictl then reports every tag deleted); one already gone is no
   * error. An image a running container uses stays (the engine's hard conflict).
   */
  async remove(req: Req): Promise<Req> {
    const img = this.tryResolve(imageArg(req.image));
    if (!img) return {};
    await this.engine.images.remove(img.id, true).catch((e) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
    return {};
  }

  async fsInfo(): Promise<Req> {
    const mountpoint = this.engine.paths.layers;
    const used = this.engine.images.store.list().reduce((n, img) => n + this.engine.images.size(img), 0);
    const st = await statfs(mountpoint).catch(() => null);
    const usage = {
      timestamp: String(BigInt(Date.now()) * 1_000_000n), fsId: { mountpoint },
      usedBytes: { value: String(used) }, inodesUsed: { value: st ? String(st.files - st.ffree) : '0' },
    };
    return { imageFilesystems: [usage], containerFilesystems: [{ ...usage, fsId: { mountpoint: this.engine.paths.containers } }] };
  }

  private tryResolve(ref: string): ImageRecord | undefined {
    try { return this.engine.images.tryResolve(ref); } catch (e) {
      // A reference that does not parse names no image.
      if (e instanceof InvalidParameterError) return undefined;
      throw e;
    }
  }
}
