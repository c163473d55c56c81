#!/usr/bin/env bash
# `make run`: install what is missing, build, start an embedded PostgreSQL under .data/ when no
# DATABASE_URL is set, migrate, create a development API key on first start, and serve.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

scripts/install-deps.sh
swift build -c "${CONFIGURATION:-debug}" --product registryd
registryd="$(swift build -c "${CONFIGURATION:-debug}" --show-bin-path)/registryd"

embedded=""
if [ -z "${DATABASE_URL:-}" ]; then
    embedded=".data/postgres"
    admin_url=$(scripts/pg-cluster.sh start "$embedded")
    psql "$admin_url" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'registryd'" | grep -q 1 \
        || psql "$admin_url" -qc "CREATE DATABASE registryd"
    export DATABASE_URL="${admin_url/\/postgres\?/\/registryd?}"
    echo "embedded PostgreSQL: $DATABASE_URL (data in $embedded; stopped when registryd stops)" >&2
fi

"$registryd" migrate >&2

key_file=.data/dev-api-key
if [ -n "$embedded" ] && [ ! -s "$key_file" ]; then
    mkdir -p .data
    (umask 077; "$registryd" api-key create --organization-id 11111111-1111-4111-8111-111111111111 \
        --description "make run development key" > "$key_file")
fi
if [ -s "$key_file" ]; then
    secret=$(awk '/^secret_key:/ {print $2}' "$key_file")
    cat >&2 <<MESSAGE

Development API key (organization 11111111-1111-4111-8111-111111111111), kept in $key_file:
  export SCW_SECRET_KEY=$secret
  curl -s -H "X-Auth-Token: \$SCW_SECRET_KEY" http://localhost:${PORT:-8080}/registry/v1/regions/fr-par/namespaces

MESSAGE
fi

# Data plane (issue 11): a registry on :5000 whose tokens and notifications are registryd's;
# REGISTRY=off serves the API alone.
registry_pid=""
if [ "${REGISTRY:-on}" != off ]; then
    eval "$(scripts/dev-registry.sh env)"
    registry_pid=$(scripts/dev-registry.sh start "$registryd")
    echo "registry: 127.0.0.1:${REGISTRY_PORT:-5000} (log in .data/registry/registry.log); push with" >&2
    echo "  skopeo copy --dest-tls-verify=false --dest-creds nologin:\$SCW_SECRET_KEY oci:DIR:TAG docker://127.0.0.1:${REGISTRY_PORT:-5000}/NAMESPACE/IMAGE:TAG" >&2
fi

if [ -n "$embedded" ] || [ -n "$registry_pid" ]; then
    trap '[ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null; [ -z "$embedded" ] || scripts/pg-cluster.sh stop "$embedded"' EXIT
    "$registryd" serve
else
    exec "$registryd" serve
fi
