#!/usr/bin/env bash
# Installs the Debian packages registryd builds and tests with, when they are missing.
# Swift itself is not a Debian package: it must be on PATH already (or in /opt/swift/usr/bin).
set -euo pipefail

packages=(pkg-config libpq-dev libh2o-evloop-dev postgresql postgresql-client)
# The data plane: libcrypto signs registry tokens; the registry and skopeo run in the tests.
packages+=(libssl-dev docker-registry skopeo)
# libcurl: registryd's requests to its registries (reconciler, deletions), without FoundationNetworking.
packages+=(libcurl4-openssl-dev)
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "swift not found: install a Swift 6 toolchain (https://www.swift.org/install/linux/) and put it on PATH" >&2
    exit 1
fi
