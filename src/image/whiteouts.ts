/**
 * The two spellings of "deleted in this layer" (OCI image spec, layer.md
 * §Whiteouts; overlayfs.rst): in a tar, an empty file `.wh.<name>` beside the
 * deleted name and `.wh..wh..opq` in a directory whose lower contents are
 * hidden; in an overlay upper or lower directory, a 0/0 character device in
 * place of the name and the xattr `trusted.overlay.opaque=y` on the directory.
 */
import type { BigIntStats, Stats } from 'node:fs';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** `.wh..wh.*` names other than the opaque marker are AUFS metadata, ignored. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';

export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Written instead of trusted.* on `userxattr` (rootless) overlay mounts, Linux ≥ 5.11. */
export const OVERLAY_OPAQUE_USER_XATTR = 'user.overlay.opaque';

/** overlayfs' whiteout: a character device with device number 0/0. */
export function isWhiteoutDevice(st: Stats | BigIntStats): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}

/** Whether a directory's xattrs mark it opaque. */
export function isOpaqueDir(xattrs: Map<string, Buffer>): boolean {
  for (const name of [OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_USER_XATTR]) {
    const v = xattrs.get(name);
    if (v && v.length === 1 && v[0] === 0x79 /* y */) return true;
  }
  return false;
}
