#!/usr/bin/env bash
# install.sh [--hello] — sets up berth on a Debian 12 machine (run as root).
#
#   1. apt packages berth and its tests use (runtimes, conmon, netavark, …)
#   2. npm dependencies (better-sqlite3 compiles from source: ~1 minute)
#   3. npm run build
#   4. group `berth` (owns the API socket), /usr/local/bin/{berth,berthd}
#      as symlinks into this checkout
#   5. the cgroup v1 hugetlb mount crun 1.8 needs on hybrid hosts (berthd
#      does it too)
#   6. the Go clients the tests drive (docker-buildx, crictl, critest), with
#      the shared tools' build-go-clients.sh
#
# With --hello it then makes a busybox base image with berth (`berth import`),
# builds examples/hello on it (`berth build`) and
# runs `berth run --rm busybox echo "Hello from berth"`; the berth CLI starts
# berthd on /run/berth/berth.sock when it is not running.
#
# Running it again only installs what is missing. It never needs the docker CLI.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./scripts/install.sh [--hello]     (as root)

Installs berth's dependencies, builds it and links berth/berthd into
/usr/local/bin. --hello then imports a busybox base image, builds examples/hello
on it with berth and runs a container from it.

Environment:
  BERTH_SKIP_APT=1     do not install Debian packages (they are only checked)
  BERTH_REINSTALL=1    run `npm ci` even when node_modules looks up to date
EOF
}

HELLO=0
for arg in "$@"; do
  case "$arg" in
    --hello) HELLO=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  die "needs root (packages, mounts, /usr/local/bin): sudo $0 $*"
fi

# --- 1. Debian packages ------------------------------------------------------
# Runtime: runc crun conmon (monitor) netavark aardvark-dns (networks)
#   iptables iproute2 util-linux (mount, nsenter, script) kmod (modprobe
#   overlay) procps tini (--init) ca-certificates (registries over TLS)
#   python3-seccomp (compiles seccomp profiles once for crun; optional)
#   criu (checkpoint/restore through runc; 3.17 fails `criu check` on
#   kernels >= 6.13, where berth says so instead of checkpointing).
# Tests: busybox-static (test images), skopeo and docker-registry (pull/push
#   interop), attr (setfattr: whiteout xattrs), python3-docker and
#   docker-compose (client compatibility), debootstrap (Debian test rootfs),
#   git curl; python3-pytest python3-pytest-timeout python3-requests
#   python3-urllib3 python3-websocket python3-paramiko (docker-py's own
#   integration suite: npm run compat), openssh-server openssh-client (ssh://
#   remote access tests: a private sshd on loopback); etcd-server (the
#   examples/etcd-partition fault scenario).
# Rootless berthd (berthd started by an ordinary user, src/rootless/): uidmap
#   (setuid newuidmap/newgidmap: a user namespace of the user's /etc/subuid
#   and /etc/subgid ranges), slirp4netns (the daemon's network and its
#   published ports); passt (pasta) and fuse-overlayfs are the alternatives
#   rootless engines use for a network and for overlay on kernels before 5.11
#   that refuse overlay in a user namespace: berthd does not use them yet.
# Build: build-essential python3 (node-gyp compiles better-sqlite3).
# No recommends: docker-compose recommends docker.io, which berth replaces.
# Debian 12 has no tini-static; the tini package ships /usr/bin/tini-static.
PACKAGES=(
  runc crun conmon netavark aardvark-dns iptables iproute2 util-linux kmod procps
  tini ca-certificates python3-seccomp criu busybox-static skopeo docker-registry attr python3-docker
  docker-compose debootstrap git curl tar build-essential python3
  python3-pytest python3-pytest-timeout python3-requests python3-urllib3 python3-websocket python3-paramiko
  openssh-server openssh-client etcd-server
  uidmap slirp4netns passt fuse-overlayfs
)

step "Debian packages"
if [ -r /etc/os-release ]; then
  . /etc/os-release
  if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
    info "warning: berth is tested on Debian 12; this is ${PRETTY_NAME:-unknown}"
  fi
fi
missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  info "all ${#PACKAGES[@]} packages are installed"
elif [ "${BERTH_SKIP_APT:-0}" = 1 ]; then
  die "missing packages (BERTH_SKIP_APT=1 set): ${missing[*]}"
else
  info "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # The etcd scenario needs only the binary: no host-wide etcd service listening on 2379.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd.service >/dev/null 2>&1 || true
  fi
fi
# slirp4netns opens /dev/net/tun as the user who runs a rootless berthd: udev
# makes it 0666 on Debian, hosts without udev (containers, sandboxes) leave it 0600.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  chmod 0666 /dev/net/tun
  info "/dev/net/tun made usable by every user (mode 0666, as udev does): rootless berthd's network needs it"
fi
# netavark and aardvark-dns live outside PATH on Debian.
for f in /usr/lib/podman/netavark /usr/lib/podman/aardvark-dns; do
  [ -x "$f" ] || info "warning: $f not found (networking will not work)"
done

# --- 2. Node.js and npm dependencies ------------------------------------------
step "Node.js dependencies"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  || die "Node.js >= 20 with npm is required (Debian 12's nodejs is 18: install Node 20, e.g. from NodeSource, then rerun)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is required, found $(node --version) (Debian 12's nodejs is 18: install Node 20, e.g. from NodeSource, then rerun)"
info "node $(node --version), npm $(npm --version)"

# better-sqlite3's prebuilt binaries come from GitHub, which these machines
# cannot reach: build from source straight away instead of timing out first,
# against the installed Node headers when there are some (node-gyp would
# otherwise download them from nodejs.org).
export npm_config_build_from_source=better-sqlite3
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" ] \
   && [ -f "$node_prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir=$node_prefix
fi

# node_modules/.berth-deps records what the last successful install was made
# from: package.json, the lockfile and the Node version (native modules are
# built for one ABI). When it matches and better-sqlite3 loads, skip npm.
deps_key() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1; node --version; }
deps_current() {
  [ -f node_modules/.berth-deps ] && [ "$(cat node_modules/.berth-deps)" = "$(deps_key)" ] || return 1
  node -e 'new (require("better-sqlite3"))(":memory:").close()' >/dev/null 2>&1
}
if [ "${BERTH_REINSTALL:-0}" != 1 ] && deps_current; then
  info "node_modules is up to date"
else
  if [ -f package-lock.json ]; then
    info "npm ci (compiles better-sqlite3 from source: about a minute)"
    if ! npm ci --no-audit --no-fund; then
      # npm 11 refuses `ci` when an optional dependency is missing from the
      # lockfile, and node-unix-socket names platform packages that were never
      # published (so no lockfile can list them); `npm install` handles that.
      info "npm ci failed; trying npm install (it may update package-lock.json)"
      npm install --no-audit --no-fund
    fi
  else
    info "npm install (no package-lock.json; compiles better-sqlite3: about a minute)"
    npm install --no-audit --no-fund
  fi
  node -e 'new (require("better-sqlite3"))(":memory:").close()' \
    || die "better-sqlite3 does not load after npm install (see the node-gyp output above)"
  deps_key > node_modules/.berth-deps
fi

# --- 3. Build ------------------------------------------------------------------
step "Build (tsc)"
npm run build --silent
info "compiled into $REPO/dist"

# --- 3b. Go clients for the tests ---------------------------------------------
# crictl and critest (the CRI's real clients) and docker-buildx, built offline
# from the vendored sources in shared/tools beside the checkout, into
# /var/cache/berth-go-clients; each binary is built once.
GO_CLIENTS=$REPO/../shared/tools/build-go-clients.sh
if [ -x "$GO_CLIENTS" ] || [ -f "$GO_CLIENTS" ]; then
  step "Go test clients (crictl, critest, docker-buildx)"
  bash "$GO_CLIENTS" 2>&1 | sed 's/^/    /' || info "warning: building the Go clients failed; the tests that need them skip"
else
  info "no $GO_CLIENTS: the CRI tests skip without crictl"
fi

# --- 4. Group and commands -----------------------------------------------------
step "Group and commands"
if getent group berth >/dev/null; then
  info "group berth exists"
else
  groupadd --system berth
  info "created group berth (members may use /run/berth/berth.sock)"
fi
for cmd in berth berthd; do
  if [ ! -e "bin/$cmd" ]; then
    info "warning: bin/$cmd is missing in this checkout; linking anyway"
  else
    chmod 0755 "bin/$cmd"
  fi
  ln -sfn "$REPO/bin/$cmd" "/usr/local/bin/$cmd"
  info "/usr/local/bin/$cmd -> $REPO/bin/$cmd"
done

# --- 5. cgroups for crun -------------------------------------------------------
# crun 1.8 refuses to run while any controller sits on the cgroup v2 side of a
# hybrid layout (here: hugetlb). Mounting a v1 hierarchy for it moves it off
# v2, as Debian's cgroupfs-mount does; berthd does the same at start-up.
step "cgroups"
unified=/sys/fs/cgroup/unified/cgroup.controllers
if [ -r "$unified" ] && [ -n "$(tr -d '[:space:]' < "$unified")" ]; then
  for ctrl in $(cat "$unified"); do
    target=/sys/fs/cgroup/$ctrl
    if mountpoint -q "$target"; then continue; fi
    if mkdir -p "$target" && mount -t cgroup -o "$ctrl" cgroup "$target"; then
      info "mounted a v1 $ctrl hierarchy at $target (for crun)"
    else
      info "warning: could not mount a v1 $ctrl hierarchy; crun will fail, runc works"
    fi
  done
  remaining=$(tr '\n' ' ' < "$unified")
  [ -z "${remaining// /}" ] || info "warning: controllers still on cgroup v2 ($remaining): crun will fail, runc works"
else
  info "no controllers on the cgroup v2 hierarchy: crun and runc both work"
fi

# --- 6. Go clients the tests drive -------------------------------------------
# buildx v0.17.1 (the Docker CLI plugin behind `docker build`) and cri-tools,
# built from the vendored sources in the shared tools directory with Go from
# Debian bookworm-backports (about 3 minutes the first time, then cached in
# /var/cache/berth-go-clients). Tests that need them skip when they are absent.
step "Go test clients (docker-buildx, crictl, critest)"
go_clients=${BERTH_GO_CLIENTS_SCRIPT:-}
for candidate in "$REPO/../shared/tools/build-go-clients.sh" /work/shared/tools/build-go-clients.sh; do
  [ -n "$go_clients" ] || { [ -x "$candidate" ] && go_clients=$candidate; } || true
done
if [ -z "$go_clients" ]; then
  info "warning: build-go-clients.sh not found (set BERTH_GO_CLIENTS_SCRIPT); buildx and CRI tests will skip"
elif "$go_clients" /var/cache/berth-go-clients >/dev/null; then
  info "in /var/cache/berth-go-clients: $(cd /var/cache/berth-go-clients && ls docker-buildx crictl critest 2>/dev/null | tr '\n' ' ')"
else
  info "warning: $go_clients failed; buildx and CRI tests will skip"
fi

# --- 7. Hello ------------------------------------------------------------------
if [ "$HELLO" = 1 ]; then
  step "Hello from berth"
  berth=/usr/local/bin/berth
  if "$berth" image inspect busybox >/dev/null 2>&1; then
    info "image busybox already exists"
  else
    rootfs=$(mktemp -d /tmp/berth-busybox.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    "$REPO/scripts/make-busybox-rootfs.sh" "$rootfs"
    info "berth import --change 'CMD [\"sh\"]' - busybox"
    tar -C "$rootfs" --numeric-owner -c . | "$berth" import --change 'CMD ["sh"]' - busybox
  fi
  # The main job: an image berth builds itself from examples/hello/Dockerfile, then a container from it.
  info "berth build -t hello $REPO/examples/hello"
  "$berth" build -t hello "$REPO/examples/hello"
  info "berth run --rm hello"
  "$berth" run --rm hello
fi

step "Done"
info "berth run -it busybox sh      # a shell in a container"
info "npm test                      # as root: the whole test suite"
