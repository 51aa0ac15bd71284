#!/bin/sh
# Entrypoint of the twinstack-e2e redis stand-in, behaving like the official image's
# (https://hub.docker.com/_/redis, docker-library/redis docker-entrypoint.sh); written from that
# behaviour, not copied.
set -eu

# `docker run img --appendonly yes` or `docker run img /path/redis.conf` mean redis-server.
case "${1:-}" in
  -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ]; then
  if [ "$(id -u)" = 0 ]; then
    # Own the working directory (/data) so persistence works on a fresh volume, then step down.
    find . \! -user redis -exec chown redis: {} +
    exec gosu redis "$0" "$@"
  fi
  # The official build turns protected mode off at compile time; a config file, if given, must
  # stay the first argument, and the caller's own --protected-mode (later) still wins.
  shift
  case "${1:-}" in
    '' | -*) set -- redis-server --protected-mode no "$@" ;;
    *) conf="$1"; shift; set -- redis-server "$conf" --protected-mode no "$@" ;;
  esac
  umask 0077
fi

exec "$@"
