#!/usr/bin/env bash
# Builds the bedrockd container image with podman (or buildah) from this
# machine's Debian packages, without any container registry: the binaries are
# compiled here, deploy/image-rootfs.sh lays out a root file system with them
# and the shared libraries they link, and the runtime stage of deploy/Dockerfile
# (FROM scratch; its COPY --from lines become one ADD of that tree) turns it into
# an image in docker format (which keeps HEALTHCHECK; the OCI format drops it).
#   deploy/image.sh [TAG]                   default tag bedrock-gateway:latest
#   BD_IMAGE_BIN_DIR=build deploy/image.sh  use binaries already built there
# Needs root (the root file system holds files owned by uid 10001), Debian 12
# or a system whose libraries match the one the image will run on, and podman
# or buildah (apt-get install podman). Prints the image id and size.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-bedrock-gateway:latest}

if command -v podman >/dev/null 2>&1; then
    engine=(podman build)
elif command -v buildah >/dev/null 2>&1; then
    engine=(buildah bud)
else
    echo "image: neither podman nor buildah is installed (apt-get install podman)" >&2
    exit 1
fi
[ "$(id -u)" -eq 0 ] || { echo "image: run as root (the root file system has uid 10001 files)" >&2; exit 1; }
for p in curl ca-certificates; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        { echo "image: the Debian package $p is needed (apt-get install $p)" >&2; exit 1; }
done

bin_dir=${BD_IMAGE_BIN_DIR:-}
if [ -z "$bin_dir" ]; then
    bin_dir=$top/build-image
    launcher=()
    command -v ccache >/dev/null 2>&1 &&
        launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    cmake -S "$top" -B "$bin_dir" -DCMAKE_BUILD_TYPE=Release -DBD_TESTS=OFF "${launcher[@]}" >/dev/null
    cmake --build "$bin_dir" -j"$(nproc 2>/dev/null || echo 2)" --target bedrockd bedrockctl
fi
[ -x "$bin_dir/bedrockd" ] || { echo "image: no bedrockd in $bin_dir" >&2; exit 1; }
ctl=$(find "$bin_dir" -maxdepth 3 -type f -name bedrockctl -perm -u+x | head -n 1)

work=$bin_dir/image
rm -rf "$work"
mkdir -p "$work"
"$top"/deploy/image-rootfs.sh "$work/rootfs" "$bin_dir/bedrockd" $ctl
# The layout is complete when the daemon starts inside it and accepts the conf
# (the master key comes from the environment at run time; a stand-in here).
BEDROCKD_MASTER_KEY=image-build-check-0000 chroot "$work/rootfs" /usr/local/sbin/bedrockd -t -c /etc/bedrockd/bedrockd.conf
tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
sed -n '/^FROM scratch/,$p' "$top"/deploy/Dockerfile |
    sed -e '/^# COPY may not keep/d' -e '/^COPY --from=build/d' -e '/^FROM scratch/a ADD rootfs.tar /' \
        >"$work/Containerfile"
grep -q '^ADD rootfs.tar' "$work/Containerfile" ||
    { echo "image: no runtime stage (FROM scratch) in deploy/Dockerfile" >&2; exit 1; }

"${engine[@]}" --format docker -q -t "$tag" -f "$work/Containerfile" "$work"
rm -rf "$work"
if command -v podman >/dev/null 2>&1; then
    podman image inspect --format '{{.Id}} {{.Size}}' "$tag" |
        awk -v tag="$tag" '{ printf "image: %s %s, %.1f MB\n", tag, substr($1, 1, 12), $2 / 1e6 }'
fi
