#!/bin/sh
# docs_flags.sh BEDROCKD SRCDIR: every flag `bedrockd -h` prints is documented in
# SRCDIR/man/bedrockd.8 (as `.It Fl X`) and shown in SRCDIR/README.md (as -X), every
# `.It Fl X` of the man page is a real flag, and every -s signal name of the help
# (`name (SIGxxx)`) is on the man page's `Fl s` line and in the README.
set -u
bedrockd=${1:?usage: docs_flags.sh BEDROCKD SRCDIR}
src=${2:?usage: docs_flags.sh BEDROCKD SRCDIR}
man="$src/man/bedrockd.8"
readme="$src/README.md"
fail=0

help=$("$bedrockd" -h) || { echo "docs_flags: $bedrockd -h failed" >&2; exit 1; }
flags=$(printf '%s\n' "$help" | sed -n 's/^ *-\([A-Za-z]\)\( .*\)\{0,1\}$/\1/p')
signals=$(printf '%s\n' "$help" | grep -o '[a-z][a-z]* (SIG[A-Z0-9]*' | sed 's/ .*//')
if [ -z "$flags" ] || [ -z "$signals" ]; then
    echo "docs_flags: found no flags or no -s signals in the output of bedrockd -h:" >&2
    printf '%s\n' "$help" >&2
    exit 1
fi

for f in $flags; do
    if ! grep -Eq "^\.It Fl $f( |$)" "$man"; then
        echo "docs_flags: -$f is not documented in man/bedrockd.8 (no \".It Fl $f\")" >&2
        fail=1
    fi
    if ! grep -Eq -- "(^|[^A-Za-z0-9_-])-$f([^A-Za-z0-9_]|$)" "$readme"; then
        echo "docs_flags: -$f is not shown in README.md" >&2
        fail=1
    fi
done

for f in $(sed -n 's/^\.It Fl \([A-Za-z]\)\( .*\)\{0,1\}$/\1/p' "$man"); do
    case " $(echo $flags) " in
    *" $f "*) ;;
    *)
        echo "docs_flags: man/bedrockd.8 documents -$f, which bedrockd -h does not list" >&2
        fail=1
        ;;
    esac
done

sline=$(grep -E '^\.It Fl s ' "$man")
for s in $signals; do
    if ! printf '%s\n' "$sline" | grep -Eq "(Cm| \|) $s( |$)"; then
        echo "docs_flags: -s $s is not on the \".It Fl s\" line of man/bedrockd.8" >&2
        fail=1
    fi
    if ! grep -Eq -- "-s ([a-z]+\|)*$s([^a-z]|$)" "$readme"; then
        echo "docs_flags: -s $s is not in README.md" >&2
        fail=1
    fi
done

[ "$fail" -eq 0 ] && echo "docs_flags: flags" $flags "and -s" $signals "are documented"
exit "$fail"
