#!/usr/bin/env bash
# Start any local service the test suite needs that is not answering. Each service is started with the
# machine's own command, and only when its port is closed, so a running server is never touched.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-; }

wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 60); do
    port_open "$port" && return 0
    sleep 1
  done
  echo "ensure-services: $name did not come up on port $port" >&2
  return 1
}

ensure() {
  local port=$1 name=$2
  shift 2
  if port_open "$port"; then return 0; fi
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "ensure-services: $name is not running and $1 is not installed" >&2
    return 1
  fi
  echo "ensure-services: starting $name"
  "$@" >/dev/null 2>&1 || true
  wait_port "$port" "$name"
}

status=0
ensure 5432 PostgreSQL sh -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -1) main start' || status=1
ensure 6379 Redis redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || status=1
ensure 5672 RabbitMQ rabbitmq-server -detached || status=1
exit $status
