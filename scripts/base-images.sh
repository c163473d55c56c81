#!/usr/bin/env bash
# Makes the base images that Dockerfile and docker-compose.yml name, under their official tags,
# when they cannot be pulled (no image registry reachable), so that both files stay exactly what a
# user with internet access runs:
#   debian:bookworm-slim        debootstrap --variant=minbase, made slim by base-images/slim-rootfs.sh
#   swift:6.3-bookworm          base-images/swift.Dockerfile with the host's Swift toolchain
#   postgres:15-bookworm        base-images/postgres.Dockerfile and its postgres-entrypoint.sh
#   python:3.11-slim-bookworm   base-images/python.Dockerfile, trusting the host's extra CA certificates
# An image made here carries the label org.registryd.base-image.recipe: a hash of its recipe files,
# its parent image and its inputs. A tag whose label matches is kept, so a second run takes seconds;
# a tag without the label (pulled from a registry) is always kept.
# Environment: BASE_IMAGES_PULL=0 to not try a pull first, DEBIAN_MIRROR (default deb.debian.org),
# SWIFT_TOOLCHAIN (the folder holding usr/bin/swift; default: the swift on PATH), BASE_IMAGES_LOG_DIR.
set -euo pipefail
cd "$(dirname "$0")"
recipes=$PWD/base-images
label=org.registryd.base-image.recipe
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log_dir=${BASE_IMAGES_LOG_DIR:-$(mktemp -d /tmp/registryd-base-images-XXXXXX)}
mkdir -p "$log_dir"

say() { printf '   %s\n' "$*" >&2; }

hash_of() { cat "$@" | sha256sum | cut -c1-64; }

# needed TAG KEY: succeeds when TAG has to be made here: missing and not pullable, or made here
# from another recipe.
needed() {
    local tag=$1 key=$2 current
    if docker image inspect "$tag" >/dev/null 2>&1; then
        current=$(docker image inspect -f "{{ with .Config.Labels }}{{ index . \"$label\" }}{{ end }}" "$tag")
        if [ -z "$current" ]; then say "$tag: present, not made here: kept"; return 1; fi
        if [ "$current" = "$key" ]; then say "$tag: up to date (recipe ${key:0:12})"; return 1; fi
        say "$tag: its recipe changed: made again"
        return 0
    fi
    if [ "${BASE_IMAGES_PULL:-1}" = 1 ] && timeout 300 docker pull -q "$tag" >/dev/null 2>&1; then
        say "$tag: pulled"
        return 1
    fi
    return 0
}

# run_logged NAME COMMAND...: runs the command into a log file, printing the log's end on failure.
run_logged() {
    local name=$1 started=$SECONDS
    shift
    if ! "$@" > "$log_dir/$name.log" 2>&1; then
        tail -n 40 "$log_dir/$name.log" >&2
        echo "base-images: making $name failed (log: $log_dir/$name.log)" >&2
        exit 1
    fi
    say "$name: made in $((SECONDS - started)) s"
}

make_debian() {
    local key=$1 rootfs
    rootfs=$(mktemp -d /var/tmp/registryd-rootfs-XXXXXX)
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" \
        && "$recipes/slim-rootfs.sh" "$rootfs" "$mirror" \
        && tar --numeric-owner --xattrs -C "$rootfs" -c . \
           | docker import --change 'CMD ["bash"]' --change "LABEL $label=$key" - debian:bookworm-slim
    local status=$?
    rm -rf "$rootfs"
    return $status
}

build_recipe() { # TAG KEY DOCKERFILE CONTEXT
    docker build --label "$label=$2" -t "$1" -f "$3" "$4"
}

key=$(printf 'debootstrap --variant=minbase bookworm\n' | hash_of - "$recipes/slim-rootfs.sh")
if needed debian:bookworm-slim "$key"; then
    command -v debootstrap >/dev/null || { echo "base-images: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
    run_logged debian-bookworm-slim make_debian "$key"
fi
debian=$(docker image inspect -f '{{.Id}}' debian:bookworm-slim)

toolchain=${SWIFT_TOOLCHAIN:-$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift || echo /opt/swift/usr/bin/swift)")")")")}
[ -x "$toolchain/usr/bin/swift" ] || { echo "base-images: no Swift toolchain at $toolchain (set SWIFT_TOOLCHAIN)" >&2; exit 1; }
key=$({ echo "$debian"; "$toolchain/usr/bin/swift" --version 2>&1; } | hash_of - "$recipes/swift.Dockerfile")
if needed swift:6.3-bookworm "$key"; then
    run_logged swift-6.3-bookworm build_recipe swift:6.3-bookworm "$key" "$recipes/swift.Dockerfile" "$toolchain"
fi

key=$(echo "$debian" | hash_of - "$recipes/postgres.Dockerfile" "$recipes/postgres-entrypoint.sh")
if needed postgres:15-bookworm "$key"; then
    run_logged postgres-15-bookworm build_recipe postgres:15-bookworm "$key" "$recipes/postgres.Dockerfile" "$recipes"
fi

# The host's extra CA certificates go into the Python image: pip reaches PyPI through the same network.
python_context=$(mktemp -d /tmp/registryd-python-context-XXXXXX)
trap 'rm -rf "$python_context"' EXIT
mkdir "$python_context/extra-ca"
find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$python_context/extra-ca/" \; 2>/dev/null || true
key=$({ echo "$debian"; cat "$python_context"/extra-ca/*.crt 2>/dev/null || true; } | hash_of - "$recipes/python.Dockerfile")
if needed python:3.11-slim-bookworm "$key"; then
    run_logged python-3.11-slim-bookworm build_recipe python:3.11-slim-bookworm "$key" "$recipes/python.Dockerfile" "$python_context"
fi
