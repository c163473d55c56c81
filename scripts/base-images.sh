#!/usr/bin/env bash
# Makes the base images that Dockerfile and docker-compose.yml name, under their official tags,
# when they cannot be pulled (no image registry reachable), so that both files stay exactly what a
# user with internet access runs:
#   debian:bookworm-slim        debootstrap --variant=minbase, made slim by base-images/slim-rootfs.sh
#   swift:6.3-bookworm          base-images/swift.Dockerfile with the host's Swift toolchain (no debugger)
#   postgres:15-bookworm        base-images/postgres.Dockerfile and its postgres-entrypoint.sh
#   python:3.11-slim-bookworm   base-images/python.Dockerfile, trusting the host's extra CA certificates
#   registry:2.8.2              base-images/registry.Dockerfile: Debian's docker-registry (distribution 2.8.2)
#                               with the official image's binary path, config path, volume and entrypoint
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
# Build contexts; on the toolchain's file system, so that its copy can be hard links.
work=$(mktemp -d /var/tmp/registryd-base-images-XXXXXX)
mkdir -p "$work/swift"
trap 'rm -rf "$work"' EXIT

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
# The build context is a hard-linked copy of the toolchain (instant, no data copied) without what
# no package build runs: the debugger, the editor services and the embedded-Swift libraries
# (1.5 of 3.3 GB). Where hard links cannot be made, the whole toolchain is the context.
swift_left_out=(usr/bin/lldb* usr/lib/liblldb.so* usr/bin/sourcekit-lsp usr/lib/libsourcekitd* usr/bin/clangd
                usr/bin/docc usr/share/docc usr/lib/swift/embedded usr/lib/swift_static/embedded)
swift_context() {
    local context=$1
    local pattern
    if cp -al "$toolchain/usr" "$context/usr" 2>/dev/null; then
        for pattern in "${swift_left_out[@]}"; do
            # shellcheck disable=SC2086 # the pattern is a glob
            rm -rf "$context"/$pattern
        done
        echo "$context"
    else
        rm -rf "$context/usr"
        echo "$toolchain"
    fi
}
make_swift() {
    local key=$1 context
    context=$(swift_context "$work/swift")
    build_recipe swift:6.3-bookworm "$key" "$recipes/swift.Dockerfile" "$context"
}
key=$({ echo "$debian"; "$toolchain/usr/bin/swift" --version 2>&1; printf '%s\n' "${swift_left_out[@]}"; } \
      | hash_of - "$recipes/swift.Dockerfile")

postgres_key=$(echo "$debian" | hash_of - "$recipes/postgres.Dockerfile" "$recipes/postgres-entrypoint.sh")

# The host's extra CA certificates go into the Python image: pip reaches PyPI through the same network.
mkdir -p "$work/python/extra-ca"
find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$work/python/extra-ca/" \; 2>/dev/null || true
python_key=$({ echo "$debian"; cat "$work"/python/extra-ca/*.crt 2>/dev/null || true; } | hash_of - "$recipes/python.Dockerfile")

registry_key=$(echo "$debian" | hash_of - "$recipes/registry.Dockerfile" "$recipes/registry-entrypoint.sh" \
    "$recipes/registry-config-example.yml")
mkdir -p "$work/registry"
cp "$recipes/registry.Dockerfile" "$recipes/registry-entrypoint.sh" "$recipes/registry-config-example.yml" "$work/registry/"

# The four derive from debian:bookworm-slim alone: they are made side by side.
pids=()
if needed swift:6.3-bookworm "$key"; then
    run_logged swift-6.3-bookworm make_swift "$key" &
    pids+=($!)
fi
if needed postgres:15-bookworm "$postgres_key"; then
    run_logged postgres-15-bookworm build_recipe postgres:15-bookworm "$postgres_key" "$recipes/postgres.Dockerfile" "$recipes" &
    pids+=($!)
fi
if needed python:3.11-slim-bookworm "$python_key"; then
    run_logged python-3.11-slim-bookworm build_recipe python:3.11-slim-bookworm "$python_key" "$recipes/python.Dockerfile" "$work/python" &
    pids+=($!)
fi
if needed registry:2.8.2 "$registry_key"; then
    run_logged registry-2.8.2 build_recipe registry:2.8.2 "$registry_key" "$recipes/registry.Dockerfile" "$work/registry" &
    pids+=($!)
fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
# Images made here that a newer recipe replaced (untagged now) are removed.
docker image prune -f --filter "label=$label" >/dev/null
exit $failed
