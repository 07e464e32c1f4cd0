/** A file error as Go's os package words it (`open FILE: no such file or directory`), which is what the Docker CLI prints. */
const GO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file exists',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
};

export function osErrorText(op: string, path: string, e: NodeJS.ErrnoException): string {
  return `${op} ${path}: ${(e.code && GO_TEXT[e.code]) ?? e.message}`;
}
