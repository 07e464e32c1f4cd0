/**
 * Where a rootless berthd keeps its things when no flag says otherwise, as
 * dockerd-rootless does: the socket and the exec root in the user's runtime
 * directory ($XDG_RUNTIME_DIR, a tmpfs the login session owns), persistent
 * state under $XDG_DATA_HOME (default ~/.local/share).
 */
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';

export interface RootlessRoots {
  /** `$XDG_RUNTIME_DIR/berth.sock`. */
  socket: string;
  /** `$XDG_RUNTIME_DIR/berth`. */
  execRoot: string;
  /** `$XDG_DATA_HOME/berth`, or `~/.local/share/berth`. */
  dataRoot: string;
}

export function rootlessRoots(env: NodeJS.ProcessEnv): RootlessRoots {
  const runtimeDir = env.XDG_RUNTIME_DIR;
  if (!runtimeDir || !runtimeDir.startsWith('/')) {
    throw new InvalidParameterError('rootless berthd needs XDG_RUNTIME_DIR set to a directory the user owns (e.g. /run/user/$(id -u)), for its socket and exec root');
  }
  const dataHome = env.XDG_DATA_HOME?.startsWith('/') ? env.XDG_DATA_HOME : env.HOME?.startsWith('/') ? join(env.HOME, '.local', 'share') : '';
  if (!dataHome) throw new InvalidParameterError('rootless berthd needs HOME (or XDG_DATA_HOME) to place its data root, or --data-root');
  return { socket: join(runtimeDir, 'berth.sock'), execRoot: join(runtimeDir, 'berth'), dataRoot: join(dataHome, 'berth') };
}
