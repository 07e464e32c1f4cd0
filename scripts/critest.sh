#!/usr/bin/env bash
# critest.sh [--containerd] [--min-pass N] [--focus RE] [--skip RE] [--runtime runc|crun] [--keep] [-- CRITEST-ARGS...]
#
# Runs Kubernetes' CRI validation suite (critest, cri-tools v1.29.0) end to
# end against a berthd of its own, and ends with critest's summary line:
#   1. builds crictl and critest if /var/cache/berth-go-clients lacks them
#      (shared/tools/build-go-clients.sh, offline, a few minutes once);
#   2. scripts/critest.mjs: a `berth registry serve` on loopback holding
#      busybox-based stand-ins for critest's images under their names, a
#      private berthd (own data and exec roots) with that registry as its
#      mirror of registry.k8s.io and gcr.io, critest against its CRI socket,
#      then everything removed.
# --containerd runs the same suite against Debian's containerd 1.6 instead
# (downloaded with apt-get into the client cache, never installed; its own
# config, roots, socket and CNI network under the temporary directory), the
# reference count the README quotes. Needs root and a built tree
# (`npm run build`).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS=${BERTH_GO_CLIENTS:-/var/cache/berth-go-clients}
if [ ! -x "$CLIENTS/critest" ] || [ ! -x "$CLIENTS/crictl" ]; then
  BUILD=
  for d in "${BERTH_SHARED_TOOLS:-}" "$ROOT/../shared/tools" "$ROOT/../../shared/tools"; do
    if [ -n "$d" ] && [ -x "$d/build-go-clients.sh" ]; then BUILD=$d/build-go-clients.sh; break; fi
  done
  [ -n "$BUILD" ] || { echo "critest.sh: no critest in $CLIENTS and no shared/tools/build-go-clients.sh to build it (set BERTH_SHARED_TOOLS)" >&2; exit 2; }
  echo "critest.sh: building crictl and critest into $CLIENTS"
  bash "$BUILD" "$CLIENTS" >&2
fi
export BERTH_GO_CLIENTS=$CLIENTS
exec node "$ROOT/scripts/critest.mjs" "$@"
