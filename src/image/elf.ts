/**
 * Just enough of an ELF file's headers for a microcontainer: whether it is
 * ELF at all, the machine it is for (as an OCI architecture), and the
 * program interpreter a dynamically linked one names (PT_INTERP, the path
 * the kernel loads it with: `/lib64/ld-linux-x86-64.so.2`). A file that is
 * not ELF (a script, data) gets undefined.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface ElfInfo {
  /** OCI architecture (`amd64`, `arm64`…), or `elf-machine-<n>` for one berth does not know. */
  architecture: string;
  /** PT_INTERP; absent for a statically linked program. */
  interpreter?: string;
}

const MACHINES: Record<number, string> = { 3: '386', 8: 'mips', 20: 'ppc', 21: 'ppc64le', 22: 's390x', 40: 'arm', 62: 'amd64', 183: 'arm64', 243: 'riscv64', 258: 'loong64' };
const PT_INTERP = 3;

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = readSync(fd, b, 0, length, offset);
  return b.subarray(0, n);
}

export function readElfInfo(path: string): ElfInfo | undefined {
  const fd = openSync(path, 'r');
  try {
    const h = readAt(fd, 0, 64);
    if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = h[4] === 2;
    const le = h[5] === 1;
    const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const addr = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const machine = u16(h, 18);
    const info: ElfInfo = { architecture: MACHINES[machine] ?? `elf-machine-${machine}` };
    if (machine === 21 && !le) info.architecture = 'ppc64';
    const phoff = addr(h, is64 ? 32 : 28);
    const phentsize = u16(h, is64 ? 54 : 42);
    const phnum = u16(h, is64 ? 56 : 44);
    for (let i = 0; i < phnum && phentsize >= (is64 ? 56 : 32); i++) {
      const ph = readAt(fd, phoff + i * phentsize, phentsize);
      if (ph.length < phentsize || u32(ph, 0) !== PT_INTERP) continue;
      const offset = addr(ph, is64 ? 8 : 4);
      const size = addr(ph, is64 ? 32 : 16);
      const text = readAt(fd, offset, Math.min(size, 4096)).toString('latin1');
      info.interpreter = text.replace(/\0.*$/s, '');
      break;
    }
    return info;
  } finally {
    closeSync(fd);
  }
}
