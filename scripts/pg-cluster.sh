#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory, for `make run`, `make test` and the benchmarks.
#
#   scripts/pg-cluster.sh start DIR [--throwaway|--benchmark]
#                                                   initialise DIR on first use, start, print the URL
#   scripts/pg-cluster.sh stop DIR [immediate]      stop it (no error when it is not running);
#                                                   `immediate` kills it like a crash would
#   scripts/pg-cluster.sh url DIR                   print the URL of a running cluster
#   scripts/pg-cluster.sh start DIR --primary       a durable primary whose commits wait for the
#                                                   synchronous standby named `standby` (make the
#                                                   standby before writing: commits wait until then)
#   scripts/pg-cluster.sh standby DIR PRIMARY_DIR   a hot standby of the primary in PRIMARY_DIR
#                                                   (pg_basebackup -R), started, its URL printed
#   scripts/pg-cluster.sh promote DIR               promote the standby in DIR (pg_ctl promote)
#   scripts/pg-cluster.sh kill DIR                  SIGKILL the postmaster and every process it
#                                                   started, as a machine that dies would
#
# The server listens only on a Unix socket inside DIR (or under /tmp when DIR's path is too long
# for a socket), so it never collides with another server's port. PostgreSQL refuses to run as
# root: when invoked as root, the cluster belongs to the `postgres` user and runs as it.
# --throwaway turns off fsync and friends: fast, and fine for data that tests throw away.
# --benchmark keeps durable settings and loads pg_stat_statements (make bench reads statements back).
set -euo pipefail

command=${1:?usage: pg-cluster.sh start|stop|url DIR}
dir=${2:?usage: pg-cluster.sh start|stop|url DIR}
option=${3:-}

bindir=""
for candidate in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -n "$candidate" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then bindir=$candidate; break; fi
done
if [ -z "$bindir" ]; then
    echo "pg-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
socket_dir="$dir"
if [ ${#socket_dir} -gt 90 ]; then
    socket_dir="/tmp/registryd-pg-$(echo -n "$dir" | sha256sum | cut -c1-12)"
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    echo "postgresql://postgres@/postgres?host=$socket_dir"
}

case "$command" in
start)
    mkdir -p "$socket_dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir" "$socket_dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "pg-cluster: the postgres user cannot write $dir (a parent directory is private); set DATABASE_URL instead" >&2
            exit 1
        fi
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    options="-c listen_addresses='' -c unix_socket_directories='$socket_dir' -c max_connections=300"
    if [ "$option" = "--throwaway" ]; then
        # The suites run in parallel, each with a service of its own (write pool, read pipeline,
        # listing lane, readiness probe) and some with hundreds of clients: 300 slots ran out.
        options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1200"
    fi
    if [ "$option" = "--primary" ]; then
        # Synchronous replication: a commit is acknowledged once the standby has flushed it, so a
        # promoted standby holds every acknowledged write (README, "High availability").
        options="$options -c synchronous_standby_names='standby' -c synchronous_commit=on -c wal_level=replica -c max_wal_senders=10"
    fi
    if [ "$option" = "--benchmark" ]; then
        options="$options -c shared_preload_libraries=pg_stat_statements -c shared_buffers=256MB"
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null \
            || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    url
    ;;
stop)
    if [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        mode=fast
        if [ "$option" = "immediate" ]; then mode=immediate; fi
        as_owner "$bindir/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null
    fi
    ;;
url)
    url
    ;;
standby)
    primary=${3:?usage: pg-cluster.sh standby DIR PRIMARY_DIR}
    primary_url=$("$0" url "$primary")
    primary_socket=${primary_url#*host=}
    mkdir -p "$socket_dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir" "$socket_dir"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bindir/pg_basebackup" -D "$data" -R -X stream -c fast \
            -d "host=$primary_socket user=postgres application_name=standby" >"$dir/basebackup.log" 2>&1 \
            || { cat "$dir/basebackup.log" >&2; exit 1; }
        # The walreceiver names itself `standby`: the primary's synchronous_standby_names.
        echo "primary_conninfo = 'host=$primary_socket user=postgres application_name=standby'" \
            | as_owner tee -a "$data/postgresql.auto.conf" >/dev/null
    fi
    options="-c listen_addresses='' -c unix_socket_directories='$socket_dir' -c max_connections=300 -c hot_standby=on"
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null \
            || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    url
    ;;
promote)
    as_owner "$bindir/pg_ctl" -D "$data" -w -t 60 promote >/dev/null
    ;;
kill)
    if [ -f "$data/postmaster.pid" ]; then
        postmaster=$(head -n 1 "$data/postmaster.pid")
        children=$(ps -o pid= --ppid "$postmaster" 2>/dev/null || true)
        kill -9 "$postmaster" $children 2>/dev/null || true
        # A killed postmaster may linger as a zombie (nobody reaps it in a container): without the
        # pid file, `pg_ctl status` and `stop` know it is gone.
        rm -f "$data/postmaster.pid"
    fi
    ;;
*)
    echo "usage: pg-cluster.sh start|stop|url|standby|promote|kill DIR" >&2
    exit 64
    ;;
esac
