#!/bin/sh
# The official registry image's entrypoint: a configuration file (or `serve`, `garbage-collect`,
# `help`, a flag) as first argument runs the registry with it; anything else runs as a command.
set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
