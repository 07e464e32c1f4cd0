#!/usr/bin/env bash
# make-busybox-rootfs.sh DIR — writes a minimal busybox root filesystem into DIR.
#
# The machines have no Docker Hub, so berth's test and demo images are made
# from Debian's busybox-static: the static binary, its applet links
# (`busybox --install -s`, run in a chroot so the links point at /bin/busybox),
# and the few files a container expects: /etc/passwd and /etc/group with
# root, an unprivileged `app` user (uid/gid 1000) and nobody, /tmp (1777),
# /root and /home/app. Import it with:
#
#   tar -C DIR -c . | berth import --change 'CMD ["sh"]' - busybox
#
# Needs root (chroot). Running it again on the same DIR is harmless.
set -euo pipefail

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
case "$1" in -h|--help) usage ;; esac
DIR=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ "$(id -u)" -ne 0 ]; then
  echo "$0: needs root (busybox --install runs in a chroot of $DIR)" >&2
  exit 1
fi
if [ ! -x "$BUSYBOX" ]; then
  echo "$0: $BUSYBOX not found: apt-get install busybox-static" >&2
  exit 1
fi
# A dynamically linked busybox (Debian's `busybox` package) would not run in
# a root filesystem without libc.
ldd_out=$(LC_ALL=C ldd "$BUSYBOX" 2>&1 || true)
if [[ $ldd_out != *"not a dynamic executable"* ]]; then
  echo "$0: $BUSYBOX is dynamically linked: apt-get install busybox-static" >&2
  exit 1
fi

mkdir -p "$DIR"
cd "$DIR"
mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys tmp var root home/app
install -m 0755 "$BUSYBOX" bin/busybox
# busybox --install does not create directories, does not replace existing
# links and exits 0 even when a link fails: check the result below.
chroot . /bin/busybox --install -s 2>/dev/null || true
rm -f linuxrc
for applet in sh echo cat ls id sleep; do
  if [ ! -e "bin/$applet" ] && [ ! -e "usr/bin/$applet" ]; then
    echo "$0: busybox --install did not create $applet in $DIR" >&2
    exit 1
  fi
done

cat > etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > etc/group <<'EOF'
root:x:0:
tty:x:5:
app:x:1000:
nogroup:x:65534:
EOF
chmod 0644 etc/passwd etc/group
chmod 1777 tmp
chmod 0700 root
chown 1000:1000 home/app
chmod 0755 home/app

if ! chroot . /bin/sh -c 'test "$(id -un)" = root' >/dev/null 2>&1; then
  echo "$0: the root filesystem in $DIR does not run /bin/sh" >&2
  exit 1
fi
