#!/usr/bin/env bash
# `make run`'s data plane: a development token key pair and notification secret under .data/registry
# (made with openssl on first use), and a CNCF distribution registry for fr-par on 127.0.0.1:5000
# configured by `registryd registry-config`.
#
#   scripts/dev-registry.sh env              print the export lines registryd needs
#   scripts/dev-registry.sh start REGISTRYD  start the registry in the background; print its pid
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.data/registry
port=${REGISTRY_PORT:-5000}
mkdir -p "$dir"
if [ ! -s "$dir/token.key" ] || [ ! -s "$dir/token.crt" ]; then
    (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" -out "$dir/token.crt" \
        -days 3650 -subj "/CN=registryd development token signer" 2>/dev/null)
fi
[ -s "$dir/notify-secret" ] || (umask 077; openssl rand -hex 24 > "$dir/notify-secret")

case "${1:?usage: dev-registry.sh env | start REGISTRYD}" in
env)
    echo "export REGISTRY_TOKEN_KEY=$PWD/$dir/token.key REGISTRY_TOKEN_CERT=$PWD/$dir/token.crt"
    echo "export REGISTRY_NOTIFY_SECRET=$(cat "$dir/notify-secret")"
    echo "export REGISTRY_URLS=\${REGISTRY_URLS:-fr-par=http://127.0.0.1:$port}"
    ;;
start)
    registryd=${2:?usage: dev-registry.sh start REGISTRYD}
    "$registryd" registry-config --region fr-par --listen "127.0.0.1:$port" --storage "$dir/storage" \
        --registryd-url "http://127.0.0.1:${PORT:-8080}" > "$dir/config.yml"
    docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
    echo $!
    ;;
esac
