#!/bin/sh
# docs_manlint.sh SRCDIR: fails when `mandoc -Tlint` has anything to say about the
# manual pages in SRCDIR/man, or when mandoc is missing (deploy/deps.sh test installs
# it). It runs inside man/ because mandoc resolves .Xr references to sibling pages
# (bedrockd(8) -> bedrockd.conf(5)) by looking for NAME.SECTION in the working
# directory.
set -u
src=${1:?usage: docs_manlint.sh SRCDIR}
if ! command -v mandoc >/dev/null 2>&1; then
    echo "docs_manlint: mandoc is not installed (deploy/deps.sh test installs it)" >&2
    exit 1
fi
cd "$src/man" || exit 1
set -- *.[158]
if [ ! -e "$1" ]; then
    echo "docs_manlint: no manual pages in $src/man" >&2
    exit 1
fi
out=$(mandoc -Tlint "$@" 2>&1)
if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    echo "docs_manlint: mandoc -Tlint reported the lines above (in $src/man)" >&2
    exit 1
fi
echo "docs_manlint: $* lint-clean"
