/**
 * A volume as the Engine API shows it (the spec's `Volume` definition: what
 * `GET /volumes`, `GET /volumes/{name}` and `POST /volumes/create` answer).
 * A wire type: it imports nothing.
 */

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local' | 'global';
}
