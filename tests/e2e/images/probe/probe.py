#!/usr/bin/env python3
"""Probe app of the twinstack e2e tests: a stand-in for the user's application image.

It shows, over HTTP, whether the environment contract twinstack hands an app container works:

  GET  /          "probe <APP_VERSION, else the build version>"
  GET  /version   the build version (baked in at build time: PROBE_BUILD_VERSION)
  GET  /healthz   200 "ok" only when `SELECT 1` over DATABASE_URL and a PING over REDIS_URL both
                  succeed; 503 with the reason otherwise. A build with PROBE_HEALTHY=0 (the
                  `:bad` tag) always answers 503.
  GET  /env       JSON: APP_ENV, APP_VERSION, REDIS_PREFIX, PORT, BASE_PATH, every FEATURE_* with
                  its value, and `names`: the sorted names of all environment variables. No other
                  value is shown, so secrets (DATABASE_URL, SESSION_SECRET, ...) never leak.
  POST /rows?n=N  inserts N rows into probe_rows (created if missing); JSON {inserted, count}
  GET  /rows      JSON {count}
  GET  /redis     sets `<REDIS_PREFIX>probe` to a random value, reads it back; JSON {key, ok}
  GET  /slow?ms=N answers "probe <version>" after N ms (at most 10000): a request in flight during
  POST /slow?ms=N a release (a proxy may replay a GET on another connection, never a POST)
  GET  /schema    JSON {schema, applied}: the migrations this build needs and those recorded as applied

Migrations (the release phase, twinstack's `app.release`): `probe.py migrate` applies, in one
transaction under an advisory lock, the first PROBE_SCHEMA migrations of MIGRATIONS not yet
recorded in `probe_schema_migrations`, records them, prints one line each and exits 0; any failing
statement rolls the whole run back (PostgreSQL DDL is transactional) and exits 1, the way
`alembic upgrade head` does on PostgreSQL (transaction_per_migration off). A build with
PROBE_SCHEMA=N also checks, in /healthz, that what its N migrations create is there (so a build
that needs a column is healthy only after its migration ran). PROBE_SCHEMA=0 (the default: tags
:1, :2, :bad) needs no migration.

Listens on 0.0.0.0:$PORT (default 8080). One log line per request on stdout. SIGTERM/SIGINT:
stop accepting, let requests in flight finish, exit 0.
"""

import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2
import redis

BUILD_VERSION = os.environ.get("PROBE_BUILD_VERSION", "unknown")
HEALTHY_BUILD = os.environ.get("PROBE_HEALTHY", "1") == "1"
SCHEMA = int(os.environ.get("PROBE_SCHEMA", "0"))
TIMEOUT_SECONDS = 3

# (id, statements, check): `check` is what /healthz runs for a build that needs this migration.
MIGRATIONS = [
    (
        "001_probe_rows",
        ["CREATE TABLE IF NOT EXISTS probe_rows (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())"],
        "SELECT id, created_at FROM probe_rows LIMIT 0",
    ),
    (
        # An additive migration: the old version keeps working, the new one needs the column.
        "002_probe_rows_note",
        ["ALTER TABLE probe_rows ADD COLUMN note text NOT NULL DEFAULT ''"],
        "SELECT note FROM probe_rows LIMIT 0",
    ),
    (
        # A migration that forgot its backfill: SET NOT NULL fails as soon as probe_rows has a row,
        # after the column and the table were already created in the same transaction.
        "003_probe_rows_tag",
        [
            "ALTER TABLE probe_rows ADD COLUMN tag text",
            "CREATE TABLE probe_tags (name text PRIMARY KEY)",
            "ALTER TABLE probe_rows ALTER COLUMN tag SET NOT NULL",
        ],
        "SELECT tag FROM probe_rows LIMIT 0",
    ),
]
SHOWN = ("APP_ENV", "APP_VERSION", "REDIS_PREFIX", "PORT", "BASE_PATH")


def log(message):
    sys.stdout.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {message}\n")
    sys.stdout.flush()


def db_connect():
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return psycopg2.connect(url, connect_timeout=TIMEOUT_SECONDS)


def redis_client():
    url = os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)


def one_line(err):
    # Driver messages name hosts and users, never passwords; keep only the first line.
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def check_database():
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            if cur.fetchone() != (1,):
                raise RuntimeError("SELECT 1 returned something else")
    finally:
        conn.close()


def check_schema():
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            for _id, _statements, check in MIGRATIONS[:SCHEMA]:
                cur.execute(check)
    finally:
        conn.close()


def applied_migrations(cur):
    cur.execute("SELECT to_regclass('probe_schema_migrations') IS NOT NULL")
    if not cur.fetchone()[0]:
        return []
    cur.execute("SELECT id FROM probe_schema_migrations ORDER BY id")
    return [row[0] for row in cur.fetchall()]


def migrate():
    """`probe.py migrate`: exit status 0 when every migration of this build is applied."""
    if SCHEMA > len(MIGRATIONS):
        log(f"migrate: PROBE_SCHEMA={SCHEMA} but only {len(MIGRATIONS)} migrations exist")
        return 1
    try:
        conn = db_connect()
    except Exception as err:  # noqa: BLE001
        log(f"migrate: cannot connect: {one_line(err)}")
        return 1
    try:
        with conn, conn.cursor() as cur:
            # One migrator at a time (a second release waits), as alembic's users arrange with a lock.
            cur.execute("SELECT pg_advisory_xact_lock(4242)")
            cur.execute("CREATE TABLE IF NOT EXISTS probe_schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            done = set(applied_migrations(cur))
            for migration_id, statements, _check in MIGRATIONS[:SCHEMA]:
                if migration_id in done:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO probe_schema_migrations (id) VALUES (%s)", (migration_id,))
                log(f"migrate: applied {migration_id}")
        log(f"migrate: schema {SCHEMA} is up to date")
        return 0
    except Exception as err:  # noqa: BLE001
        log(f"migrate: failed, rolled back: {one_line(err)}")
        return 1
    finally:
        conn.close()


def schema_report():
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            return {"schema": [m[0] for m in MIGRATIONS[:SCHEMA]], "applied": applied_migrations(cur)}
    finally:
        conn.close()


def check_redis():
    if redis_client().ping() is not True:
        raise RuntimeError("PING did not answer PONG")


def env_report():
    env = os.environ
    report = {name: env.get(name) for name in SHOWN}
    for name in sorted(env):
        if name.startswith("FEATURE_"):
            report[name] = env[name]
    report["names"] = sorted(env)
    return report


def rows(insert):
    conn = db_connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS probe_rows (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())"
            )
            if insert:
                cur.execute("INSERT INTO probe_rows (created_at) SELECT now() FROM generate_series(1, %s)", (insert,))
            cur.execute("SELECT count(*) FROM probe_rows")
            return cur.fetchone()[0]
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    server_version = "twinstack-probe"
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is dropped after this many seconds, so shutdown never waits long.
    timeout = 5

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        pass  # one line per request is written by respond()

    def respond(self, status, body, content_type="text/plain; charset=utf-8"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.server.stopping:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        log(f'{self.client_address[0]} "{self.command} {self.path}" {status} {len(data)}')

    def json(self, status, value):
        self.respond(status, json.dumps(value, sort_keys=True) + "\n", "application/json")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlsplit(self.path)
        path = url.path
        try:
            if path == "/":
                self.respond(200, f"probe {os.environ.get('APP_VERSION') or BUILD_VERSION}\n")
            elif path == "/version":
                self.respond(200, BUILD_VERSION + "\n")
            elif path == "/healthz":
                self.healthz()
            elif path == "/slow":
                self.slow(url)
            elif path == "/schema":
                self.json(200, schema_report())
            elif path == "/env":
                self.json(200, env_report())
            elif path == "/rows":
                self.json(200, {"count": rows(0)})
            elif path == "/redis":
                key = os.environ.get("REDIS_PREFIX", "") + "probe"
                value = secrets.token_hex(8)
                client = redis_client()
                client.set(key, value)
                ok = client.get(key) == value.encode()
                self.json(200 if ok else 500, {"key": key, "ok": ok})
            else:
                self.respond(404, "not found\n")
        except Exception as err:  # noqa: BLE001 (report any backend failure as a 500)
            self.respond(500, one_line(err) + "\n")

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if url.path == "/slow":
            try:
                self.slow(url)
            except Exception as err:  # noqa: BLE001
                self.respond(500, one_line(err) + "\n")
            return
        if url.path != "/rows":
            self.respond(404, "not found\n")
            return
        try:
            n = int(parse_qs(url.query).get("n", ["1"])[0])
            if not 0 <= n <= 1_000_000:
                raise ValueError("n must be 0..1000000")
        except ValueError as err:
            self.respond(400, f"bad n: {err}\n")
            return
        try:
            count = rows(n)
            self.json(200, {"inserted": n, "count": count})
        except Exception as err:  # noqa: BLE001
            self.respond(500, one_line(err) + "\n")

    def slow(self, url):
        ms = int(parse_qs(url.query).get("ms", ["1000"])[0])
        if not 0 <= ms <= 10_000:
            self.respond(400, "bad ms: 0..10000\n")
            return
        time.sleep(ms / 1000)
        self.respond(200, f"probe {os.environ.get('APP_VERSION') or BUILD_VERSION}\n")

    def healthz(self):
        if not HEALTHY_BUILD:
            self.respond(503, "unhealthy: this build (PROBE_HEALTHY=0) never passes its health check\n")
            return
        problems = []
        checks = [("database", check_database), ("redis", check_redis)]
        if SCHEMA:
            checks.append(("schema", check_schema))
        for name, check in checks:
            try:
                check()
            except Exception as err:  # noqa: BLE001
                problems.append(f"{name}: {one_line(err)}")
        if problems:
            self.respond(503, "unhealthy: " + "; ".join(problems) + "\n")
        else:
            self.respond(200, "ok\n")


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for requests in flight
    block_on_close = True
    allow_reuse_address = True
    stopping = False


def main():
    if sys.argv[1:] == ["migrate"]:
        sys.exit(migrate())
    if sys.argv[1:]:
        log(f"unknown arguments {sys.argv[1:]}; usage: probe.py [migrate]")
        sys.exit(2)
    port = int(os.environ.get("PORT") or "8080")
    server = Server(("0.0.0.0", port), Handler)

    def stop(signum, _frame):
        log(f"signal {signum}: stopping (requests in flight finish)")
        server.stopping = True
        # shutdown() blocks until serve_forever returns; it must not run on the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"probe {BUILD_VERSION} listening on 0.0.0.0:{port} (healthy build: {HEALTHY_BUILD}, schema: {SCHEMA})")
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    log("stopped")


if __name__ == "__main__":
    main()
