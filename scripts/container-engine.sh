# Sourced by scripts/compose-test.sh: finds or starts a Docker engine, and stops only what it
# started. There is no systemd on the build machines, so dockerd (Debian's docker.io) is started by
# hand in the background with its own log, and stopped with SIGTERM by its process id.

engine_started_pid=""
engine_log=""

# engine_start LOG_DIR: succeeds when `docker info` answers, starting dockerd when it can.
engine_start() {
    local log_dir=$1
    if docker info >/dev/null 2>&1; then
        echo "   engine: a running Docker engine is used (left running)" >&2
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        echo "   engine: no Docker engine runs and dockerd is not installed (apt-get install docker.io)" >&2
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "   engine: no Docker engine runs and only root can start dockerd here" >&2
        return 1
    fi
    engine_log=$log_dir/dockerd.log
    setsid dockerd > "$engine_log" 2>&1 < /dev/null &
    engine_started_pid=$!
    local deadline=$((SECONDS + 60))
    until docker info >/dev/null 2>&1; do
        if ! kill -0 "$engine_started_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "   engine: dockerd did not come up; its log ends with:" >&2
            tail -n 20 "$engine_log" >&2
            engine_stop
            return 1
        fi
        sleep 0.2
    done
    echo "   engine: started dockerd (pid $engine_started_pid, log $engine_log)" >&2
}

# engine_stop: stops the dockerd that engine_start started, if any, and waits for it to exit.
engine_stop() {
    [ -n "$engine_started_pid" ] || return 0
    kill -TERM "$engine_started_pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$engine_started_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$engine_started_pid" 2>/dev/null; then
        echo "   engine: dockerd $engine_started_pid still running after 30 s" >&2
    else
        echo "   engine: stopped dockerd $engine_started_pid" >&2
    fi
    engine_started_pid=""
}

# compose_available: succeeds when `docker compose` is Compose v2.
compose_available() {
    docker compose version --short 2>/dev/null | grep -qE '^v?2\.'
}
