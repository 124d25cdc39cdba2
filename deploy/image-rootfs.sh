#!/usr/bin/env bash
# Lays out the root file system of the bedrockd container image in DIR: the
# binaries, the shared libraries they link (as ldd resolves them on this
# Debian system), the CA bundle, a passwd entry for uid 10001 and the
# configuration. No shell, no package manager: nothing the daemon does not use.
# deploy/image.sh (podman, no registry) and deploy/Dockerfile (docker, from a
# Debian base image) both build the image from this one recipe.
#   deploy/image-rootfs.sh DIR BEDROCKD [BEDROCKCTL]
# Needs the runtime libraries, ca-certificates and curl installed (curl is the
# HEALTHCHECK probe; it links the same libcurl as bedrockd, so it costs ~0.3 MB).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR BEDROCKD [BEDROCKCTL]" >&2; exit 2; }
root=$1
bedrockd=$2
bedrockctl=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)
uid=10001

rm -rf "$root"
install -d -m 0755 "$root"/{etc/bedrockd/conf.d,etc/ssl/certs,usr/local/sbin,usr/local/bin,usr/bin}
install -d -m 0755 "$root"/usr/share/doc/bedrockd
install -d -m 1777 "$root"/tmp
install -d -m 0750 -o "$uid" -g "$uid" "$root"/var/lib/bedrockd

install -s -m 0755 "$bedrockd" "$root"/usr/local/sbin/bedrockd
[ -z "$bedrockctl" ] || install -s -m 0755 "$bedrockctl" "$root"/usr/local/bin/bedrockctl
install -m 0755 "$(command -v curl)" "$root"/usr/bin/curl

# Every shared object the binaries load, at the path the dynamic linker looks
# for it (the interpreter line has an absolute path, the rest "=> path").
copy_libs() {
    ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
        while read -r lib; do
            [ -e "$root$lib" ] && continue
            install -D -m 0644 "$(readlink -f "$lib")" "$root$lib"
        done
}
for bin in "$root"/usr/local/sbin/bedrockd "$root"/usr/bin/curl "$root"/usr/local/bin/bedrockctl; do
    [ -e "$bin" ] && copy_libs "$bin"
done
# The interpreter must be executable.
find "$root" -name 'ld-linux*' -exec chmod 0755 {} +

install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root"/etc/ssl/certs/ca-certificates.crt
cat >"$root"/etc/passwd <<EOF
root:x:0:0:root:/root:/usr/sbin/nologin
bedrockd:x:$uid:$uid:bedrockd:/var/lib/bedrockd:/usr/sbin/nologin
EOF
cat >"$root"/etc/group <<EOF
root:x:0:
bedrockd:x:$uid:
EOF
# glibc resolves names through files then DNS (nss_files and nss_dns are
# part of libc.so.6 since glibc 2.34; the runtime mounts hosts and resolv.conf).
echo "hosts: files dns" >"$root"/etc/nsswitch.conf

install -m 0644 "$top"/deploy/container.conf "$root"/etc/bedrockd/bedrockd.conf
install -m 0644 "$top"/conf/models.conf "$root"/etc/bedrockd/models.conf
install -d -m 0755 "$root"/etc/bedrockd/container.d
install -m 0644 "$top"/deploy/container.d/*.conf "$root"/etc/bedrockd/container.d/
install -m 0644 "$top"/conf/bedrockd.conf "$root"/usr/share/doc/bedrockd/bedrockd.conf.example
