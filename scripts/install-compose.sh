#!/usr/bin/env bash
# Installs Compose v2 and buildx as Docker CLI plugins when `docker compose` is missing, from
# Debian's own packages: Debian 12 ships only Compose v1 (docker-compose 1.29, which has no
# top-level `name:` and no `up --wait`), so the docker-compose (2.26) and docker-buildx (0.13)
# packages of Debian 13 "trixie" are used. Both are built by Debian's Go team from source, need only
# libc6 >= 2.34 (Debian 12 has 2.36), and are fetched with a private apt configuration that reads
# the trixie index without adding it to the system's sources. See README "Docker and docker compose".
set -euo pipefail

if docker compose version --short 2>/dev/null | grep -qE '^v?2\.'; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-compose: Compose v2 is missing; run as root to install it" >&2
    exit 1
fi

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
apt_dir=$(mktemp -d /tmp/registryd-apt-trixie-XXXXXX)
trap 'rm -rf "$apt_dir"' EXIT
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$apt_dir/sources.list"
options=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
         -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
echo "install-compose: Compose v2 and buildx from Debian 13's docker-compose and docker-buildx" >&2
apt-get "${options[@]}" update -qq
(cd "$apt_dir" && apt-get "${options[@]}" download docker-compose docker-buildx >/dev/null)
dpkg -i "$apt_dir"/docker-compose_*.deb "$apt_dir"/docker-buildx_*.deb >/dev/null
docker compose version >&2
