#!/usr/bin/env bash
# Entrypoint of the local postgres:15-bookworm stand-in (scripts/base-images/postgres.Dockerfile):
# what the official image's docker-entrypoint.sh does for a server, in short. As root it fixes the
# ownership of the data and socket directories and re-executes itself as postgres; on an empty data
# directory it runs initdb for POSTGRES_USER with POSTGRES_PASSWORD, lets every host in with
# scram-sha-256, creates POSTGRES_DB and runs /docker-entrypoint-initdb.d on a server that listens
# on the Unix socket only; then it executes the server in the foreground.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        echo "Error: the database is uninitialized and no password is set: set POSTGRES_PASSWORD" \
             "(or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one)" >&2
        exit 1
    fi
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments, as in the official image
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRES_INITDB_ARGS:-}
    else
        initdb --username="$POSTGRES_USER" ${POSTGRES_INITDB_ARGS:-}
    fi
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    export PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 --no-password --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
    fi
    for file in /docker-entrypoint-initdb.d/*; do
        case "$file" in
            *.sh) echo "running $file"; . "$file" ;;
            *.sql) echo "running $file"; psql -v ON_ERROR_STOP=1 --no-password --dbname "$POSTGRES_DB" -f "$file" ;;
            *) if [ -e "$file" ]; then echo "ignoring $file"; fi ;;
        esac
    done
    unset PGPASSWORD
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
