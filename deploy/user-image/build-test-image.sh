#!/usr/bin/env bash
# Builds a small user image for the tests (and for trying the Docker runtime
# where no registry is reachable), without any registry: a root file system
# made of this host's bash, dash, coreutils, grep and procps binaries with the
# shared libraries they load, imported with `docker import`.
#
#   deploy/user-image/build-test-image.sh [IMAGE]     (default foyer-test-user:latest)
#   MINIMAL=1 deploy/user-image/build-test-image.sh foyer-test-minimal:latest
#
# MINIMAL=1 builds a minimal image instead: dash as /bin/sh and a handful
# of tools, no bash and no chown (foyer must not depend on what a user's
# image holds). TMP_MODE=755 gives the image's /tmp that mode instead of
# 1777 (the tests check that a user can write /tmp whatever the image says).
#
# WITH_FOYER=PATH adds that foyer binary as /usr/local/bin/foyer, with the
# libraries it loads: the session host image of a swarm
# (deploy/swarm/build-host-image.sh).
#
# Rebuilds only when the image is missing or was built by an older version
# of this script (its foyer.test-image label) or from another foyer binary,
# unless FORCE=1. Needs a
# running Docker engine and permission to use it.
set -euo pipefail
image="${1:-foyer-test-user:latest}"
# Raise when the image's contents change, so existing images are rebuilt.
version=2
if [ -n "${WITH_FOYER:-}" ]; then
    version="2-$(sha256sum "$WITH_FOYER" | cut -c1-16)"
fi
label=$(docker image inspect --format '{{ index .Config.Labels "foyer.test-image" }}' "$image" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$label" = "$version" ]; then
    echo "image $image already present"
    exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# realpath, find, stat, head and ln: the file view and uploads (docs/web.md).
programs=(bash sh dash cat chown echo env find grep head id kill ln ls mkdir
          printf ps realpath rm sleep stat stty tail test touch tr true false
          uname wc whoami)
shell=/bin/bash
if [ "${MINIMAL:-0}" = 1 ]; then
    programs=(sh dash cat echo id ls sleep stty)
    shell=/bin/sh
fi
mkdir -p "$root"/{bin,etc,home,proc,sys,dev,tmp,root,usr/bin,usr/local/bin}
chmod "${TMP_MODE:-1777}" "$root/tmp"
copy_with_libs() {
    local file="$1"
    [ -e "$root$file" ] && return
    mkdir -p "$root$(dirname "$file")"
    cp -L "$file" "$root$file"
    # Every library it loads (and the loader), at the same path.
    ldd "$file" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
        [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
    done
}
for program in "${programs[@]}"; do
    path=$(type -P "$program" 2>/dev/null || true)
    case "$path" in
        /*) copy_with_libs "$(readlink -f "$path")"
            # Reachable under /bin and /usr/bin whatever the host's layout.
            for dir in /bin /usr/bin; do
                [ -e "$root$dir/$program" ] || ln -s "$(readlink -f "$path")" "$root$dir/$program"
            done ;;
        *) echo "note: $program not found on this host, left out" >&2 ;;
    esac
done
[ -e "$root/bin/sh" ] || ln -s bash "$root/bin/sh"
if [ -n "${WITH_FOYER:-}" ]; then
    copy_with_libs "$(readlink -f "$WITH_FOYER")"
    [ "$(readlink -f "$WITH_FOYER")" = /usr/local/bin/foyer ] ||
        cp -L "$WITH_FOYER" "$root/usr/local/bin/foyer"
fi
printf 'root:x:0:0:root:/root:%s\n' "$shell" >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import \
    --change "CMD [\"$shell\"]" \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "LABEL foyer.test-image=$version" \
    - "$image" >/dev/null
echo "built $image"
