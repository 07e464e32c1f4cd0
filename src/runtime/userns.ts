/**
 * A container's user namespace made ahead of the container (berthd
 * --userns-remap), bound on a file the way `ip netns` binds network
 * namespaces: berth makes the container's network namespace inside it, so
 * the namespace belongs to the container's user namespace as dockerd's do
 * (its root may mount sysfs and set the network's sysctls, and `runc exec`,
 * which joins the user namespace first, may then join the network one).
 * The runtime joins it by path.
 */
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NotImplementedError } from '../errors.js';
import { EINVAL, SpecialFsError, sharedSpecialFs, specialFsSupported } from '../image/fs-special.js';
import { procMapText, type IdMap } from './id-map.js';

const MNT_DETACH = 2;

/** A user namespace with `map`, bound on `path` (a stale one there is replaced). */
export async function createUserns(path: string, map: IdMap): Promise<void> {
  if (!specialFsSupported()) throw new NotImplementedError(`user namespaces need berth's syscall helper, which does not know ${process.arch}`);
  await deleteUserns(path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, '', { flag: 'wx', mode: 0 });
  try {
    await sharedSpecialFs().newUserns(path, procMapText(map.uidMappings), procMapText(map.gidMappings));
  } catch (e) {
    await unlink(path).catch(() => undefined);
    throw e;
  }
}

/** Unbinds and removes a user namespace file; one already gone is fine (processes in it keep it alive). */
export async function deleteUserns(path: string): Promise<void> {
  if (!specialFsSupported()) return;
  await sharedSpecialFs().umount(path, MNT_DETACH).catch((e: unknown) => {
    if (!(e instanceof SpecialFsError && (e.errno === EINVAL || e.errno === 2))) throw e;
  });
  await unlink(path).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
}
