/**
 * berth's metadata database (SQLite, WAL). Records that clients see —
 * images, tags, layers, containers, volumes, networks — live here; every change that
 * touches several rows runs in one transaction, so a crash leaves the old or
 * the new state. Files on disk (layers, upper dirs, volume data) are written
 * aside first and only become reachable once their row commits; anything on
 * disk without a row is garbage that start-up sweeps.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS layers (
  chain_id   TEXT PRIMARY KEY,      -- sha256:… of the stack up to and including this layer
  diff_id    TEXT NOT NULL,         -- sha256:… of the uncompressed layer tar
  parent     TEXT,                  -- chain_id of the layer below, NULL for a base layer
  size       INTEGER NOT NULL,      -- bytes of file content unpacked
  created    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
  id         TEXT PRIMARY KEY,      -- sha256:… of the config bytes
  config     BLOB NOT NULL,         -- the exact config JSON bytes (never re-serialised)
  top_layer  TEXT,                  -- chain_id of the top layer, NULL for an image with no layers
  parent     TEXT,                  -- local parent image id (build/commit), '' when none
  size       INTEGER NOT NULL,
  created    INTEGER NOT NULL,      -- unix ms when stored locally
  last_tag   INTEGER
);
CREATE TABLE IF NOT EXISTS tags (
  ref        TEXT PRIMARY KEY,      -- normalised: docker.io/library/busybox:latest
  image_id   TEXT NOT NULL REFERENCES images(id)
);
CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS containers (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,  -- without the leading "/"
  image_id   TEXT NOT NULL REFERENCES images(id),
  record     TEXT NOT NULL          -- JSON: ContainerRecord
);
CREATE INDEX IF NOT EXISTS containers_image ON containers(image_id);
CREATE TABLE IF NOT EXISTS volumes (
  name       TEXT PRIMARY KEY,
  record     TEXT NOT NULL          -- JSON: VolumeRecord
);
`;

/** v2: the compressed blob kept for each layer (what push sends), and manifests by repository (RepoDigests). */
const SCHEMA_V2 = `
CREATE TABLE IF NOT EXISTS layer_blobs (
  diff_id    TEXT NOT NULL,
  digest     TEXT NOT NULL,         -- sha256:… of the compressed blob in blobs/
  size       INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  PRIMARY KEY (diff_id, digest)
);
CREATE TABLE IF NOT EXISTS image_manifests (
  image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  repository TEXT NOT NULL,         -- docker.io/library/busybox
  digest     TEXT NOT NULL,         -- manifest digest (blob in blobs/)
  media_type TEXT NOT NULL,
  PRIMARY KEY (image_id, repository, digest)
);
`;

/**
 * v3: networks (the predefined bridge, host and none, and user-defined
 * bridges) and the addresses berth's IPAM handed out on them. An address
 * row lives while its container's endpoint is up (start → stop), so a
 * restarted berthd knows which addresses its running containers hold.
 */
const SCHEMA_V3 = `
CREATE TABLE IF NOT EXISTS networks (
  id         TEXT PRIMARY KEY,      -- 64 hex
  name       TEXT NOT NULL UNIQUE,
  record     TEXT NOT NULL          -- JSON: NetworkRecord
);
CREATE TABLE IF NOT EXISTS ip_allocations (
  network_id   TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
  address      TEXT NOT NULL,       -- dotted IPv4
  container_id TEXT NOT NULL,
  PRIMARY KEY (network_id, address)
);
CREATE INDEX IF NOT EXISTS ip_allocations_container ON ip_allocations(container_id);
`;

export function openDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version < SCHEMA_VERSION) {
    db.transaction(() => {
      if (version < 1) db.exec(SCHEMA);
      if (version < 2) db.exec(SCHEMA_V2);
      if (version < 3) db.exec(SCHEMA_V3);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }
  return db;
}
