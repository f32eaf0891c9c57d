"""Issue 11 (L4): `POST /admin/reload` does what SIGHUP does — one reload, run off the loops —
answering 200 with the new config's counts, or 400 `invalid_config` with the file's
`FILE:LINE:` errors (also in the log) while the running config keeps serving. The admin guard
covers every /admin path and method: 404 when no admin key is set, 401 without a key or with an
unknown one, 403 with a user's key — all before the path and method are looked at — then 404
for an unknown admin path and 405 for a wrong method. Keys never appear in the access log, the
usage database, /metrics or the reload's replies."""
import http.client
import json
import os
import pathlib
import secrets
import select
import signal
import socket
import time

import pytest

from conftest import Gateway, wait_until

# Canaries: random, so a leak is found by grepping for them, never by luck.
TAG = secrets.token_hex(8)
ADMIN = f"tg-canary-admin-{TAG}"
KEEP = f"tg-canary-keep-{TAG}"
GONE = f"tg-canary-gone-{TAG}"
FRESH = f"tg-canary-fresh-{TAG}"
UNKNOWN = f"tg-canary-unknown-{TAG}"


def config(after=False, admin=True):
    """Before the reload: models chat-a and slow, users keep and gone. After: chat-b added,
    slow removed, gone removed, fresh added."""
    models = "  chat-a: { task: chat, backends: [sim] }\n"
    models += "  chat-b: { task: chat, backends: [sim] }\n" if after else "  slow: { task: chat, backends: [sim-slow] }\n"
    users = f'  keep: {{ keys: ["{KEEP}"] }}\n'
    users += f'  fresh: {{ keys: ["{FRESH}"] }}\n' if after else f'  gone: {{ keys: ["{GONE}"] }}\n'
    return (("server: { listen: 127.0.0.1:0, workers: 2 }\n")
            + (f'admin: {{ key: "{ADMIN}" }}\n' if admin else "")
            + "backends:\n"
            + "  sim: { kind: simulated, latency: 5ms, stream_interval: 1ms }\n"
            + "  sim-slow: { kind: simulated, latency: 5ms, stream_interval: 150ms }\n"
            + "models:\n" + models + "users:\n" + users)


class Conn:
    """One kept-alive connection on a raw socket: a request on a connection the server closed
    fails here instead of being retried on a new one (as http.client would)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def request(self, method, path, key=None, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(data)}\r\n"
        if key is not None:
            head += f"Authorization: Bearer {key}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + data)
        resp = http.client.HTTPResponse(self.sock, method=method)
        resp.begin()
        payload = resp.read()
        return resp.status, (json.loads(payload) if payload else None), resp

    def close(self):
        self.sock.close()


def once(gw, method, path, key=None, body=None):
    """One request on a connection of its own: (status, JSON body, response)."""
    conn = Conn(gw.port)
    try:
        return conn.request(method, path, key, body)
    finally:
        conn.close()


def models(conn, key):
    status, body, _ = conn.request("GET", "/v1/models", key)
    return status, sorted(m["id"] for m in body["data"]) if status == 200 else body


def fresh_models(gw, key):
    """`models` on a connection of its own."""
    conn = Conn(gw.port)
    try:
        return models(conn, key)
    finally:
        conn.close()


def chat(model):
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def read_stderr(gw, until=None, seconds=10):
    """The gateway's stderr so far: what is there now, or with `until`, read until it appears
    (bounded by `seconds`)."""
    fd = gw.proc.stderr.fileno()
    deadline = time.monotonic() + (seconds if until is not None else 0)
    while True:
        text = "".join(gw.stderr_lines)
        if until is not None and until in text:
            return text
        wait = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0, min(wait, 0.1)))
        if ready:
            chunk = os.read(fd, 65536)
            if chunk:
                gw.stderr_lines.append(chunk.decode(errors="replace"))
                continue
            return text  # end of file: the process is gone
        if wait <= 0:
            return text


def reload(gw, trigger):
    """Reloads the file by `trigger`; returns the POST's (status, body), or for SIGHUP waits
    (bounded) until the log says the reload happened."""
    if trigger == "post":
        status, body, _ = once(gw, "POST", "/admin/reload", ADMIN)
        return status, body
    marks = read_stderr(gw).count("(SIGHUP)")
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: read_stderr(gw).count("(SIGHUP)") > marks, 10), read_stderr(gw)
    return None, None


@pytest.mark.parametrize("trigger", ["post", "sighup"])
def test_reload_changes_models_users_and_keys_and_keeps_connections(trigger):
    gw = Gateway(config())
    try:
        kept = Conn(gw.port)       # the user that stays
        doomed = Conn(gw.port)     # the user the reload removes
        assert models(kept, KEEP) == (200, ["chat-a", "slow"])
        assert models(doomed, GONE) == (200, ["chat-a", "slow"])
        assert once(gw, "GET", "/v1/models", FRESH)[0] == 401
        # A stream in flight on the old config (about 1.5 s of chunks) finishes on it, though
        # the reload removes its model.
        streaming = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        data = json.dumps(dict(chat("slow"), stream=True)).encode()
        streaming.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                          + f"Authorization: Bearer {KEEP}\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
        stream = http.client.HTTPResponse(streaming, method="POST")
        stream.begin()
        assert stream.status == 200

        gw.config.write_text(config(after=True) + f"storage:\n  sqlite: {gw.db_path}\n")
        status, body = reload(gw, trigger)
        if trigger == "post":
            assert status == 200, body
            assert body["status"] == "reloaded" and body["config"] == str(gw.config)
            assert (body["backends"], body["models"], body["users"], body["keys"]) == (2, 2, 2, 2)
            assert body["restart_required"] is False
        else:
            # SIGHUP has no reply: the new plan reaches each loop soon after the log line.
            assert wait_until(lambda: fresh_models(gw, KEEP) == (200, ["chat-a", "chat-b"]), 10)

        # The same connections, not new ones: the kept user sees the new models; the removed
        # key is refused on its very next request.
        assert models(kept, KEEP) == (200, ["chat-a", "chat-b"])
        status, body, resp = doomed.request("GET", "/v1/models", GONE)
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
        assert resp.getheader("connection", "").lower() == "close"
        assert fresh_models(gw, FRESH) == (200, ["chat-a", "chat-b"])
        status, body, _ = kept.request("POST", "/v1/chat/completions", KEEP, chat("chat-b"))
        assert status == 200, body
        status, body, _ = kept.request("POST", "/v1/chat/completions", KEEP, chat("slow"))
        assert status == 404 and body["error"]["code"] == "model_not_found"
        rest = stream.read()
        assert b" simulated" in rest and rest.rstrip().endswith(b"data: [DONE]"), rest[-200:]
        streaming.close()
        kept.close()
        doomed.close()
        log = read_stderr(gw)
        expected = "(POST /admin/reload)" if trigger == "post" else "(SIGHUP)"
        assert f"tollgate: reloaded {gw.config} {expected}: 2 backends, 2 models, 2 users" in log, log
    finally:
        assert gw.stop() == 0


@pytest.mark.parametrize("trigger", ["post", "sighup"])
def test_an_invalid_file_is_refused_with_file_and_line_and_the_old_config_serves(trigger):
    gw = Gateway(config())
    try:
        kept = Conn(gw.port)
        assert models(kept, KEEP) == (200, ["chat-a", "slow"])
        broken = config(after=True).replace("backends: [sim] }\n  chat-b", "backends: [nowhere] }\n  chat-b")
        lines = broken.splitlines()
        line = next(i for i, l in enumerate(lines, 1) if "nowhere" in l)
        gw.config.write_text(broken + f"storage:\n  sqlite: {gw.db_path}\n")
        status, body = reload(gw, trigger)
        where = f"{gw.config}:{line}:"
        if trigger == "post":
            assert status == 400, body
            error = body["error"]
            assert error["code"] == "invalid_config" and error["type"] == "invalid_request_error"
            assert any(e.startswith(where) and "nowhere" in e for e in error["errors"]), error
            assert where in error["message"] and "running config is kept" in error["message"]
        assert read_stderr(gw, "keeping the running config")
        log = read_stderr(gw)
        assert any(l.startswith(where) for l in log.splitlines()), log
        assert "keeping the running config" in log
        # Nothing changed: same connection, same key, same models; the new key is unknown.
        assert models(kept, KEEP) == (200, ["chat-a", "slow"])
        assert fresh_models(gw, GONE) == (200, ["chat-a", "slow"])
        assert once(gw, "GET", "/v1/models", FRESH)[0] == 401
        status, _, _ = kept.request("POST", "/v1/chat/completions", KEEP, chat("chat-a"))
        assert status == 200
        kept.close()
    finally:
        assert gw.stop() == 0


ADMIN_PATHS = ["/admin/reload", "/admin/usage", "/admin/backends", "/admin/nope", "/admin", "/admin/reload/x"]


def test_the_admin_guard_comes_before_path_and_method():
    gw = Gateway(config())
    try:
        for path in ADMIN_PATHS:
            for method in ["GET", "POST", "DELETE", "PUT"]:
                status, body, resp = once(gw, method, path)
                assert status == 401 and body["error"]["code"] == "missing_api_key", (method, path, body)
                assert resp.getheader("connection", "").lower() == "close"
                status, body, _ = once(gw, method, path, UNKNOWN)
                assert status == 401 and body["error"]["code"] == "invalid_api_key", (method, path, body)
                status, body, _ = once(gw, method, path, KEEP)
                assert status == 403 and body["error"]["code"] == "admin_key_required", (method, path, body)
        # With the admin key: unknown paths are 404, wrong methods 405 with Allow.
        for path in ["/admin/backends/x", "/admin/nope", "/admin", "/admin/reload/x"]:
            status, body, _ = once(gw, "GET", path, ADMIN)
            assert status == 404 and body["error"]["code"] == "not_found", (path, body)
        status, body, resp = once(gw, "GET", "/admin/reload", ADMIN)
        assert status == 405 and resp.getheader("allow") == "POST"
        status, body, resp = once(gw, "DELETE", "/admin/usage", ADMIN)
        assert status == 405 and resp.getheader("allow") == "GET, HEAD"
        assert once(gw, "GET", "/admin/usage", ADMIN)[0] == 200
        status, body, _ = once(gw, "GET", "/admin/backends", ADMIN)
        assert status == 200 and body["object"] == "list"
        status, body, resp = once(gw, "POST", "/admin/backends", ADMIN)
        assert status == 405 and resp.getheader("allow") == "GET, HEAD"
        # The admin key is no client key.
        assert once(gw, "GET", "/v1/models", ADMIN)[0] == 401
    finally:
        assert gw.stop() == 0


def test_without_an_admin_key_every_admin_path_is_404():
    gw = Gateway(config(admin=False))
    try:
        for path in ADMIN_PATHS:
            for method in ["GET", "POST", "DELETE"]:
                for key in [None, KEEP, UNKNOWN]:
                    status, body, _ = once(gw, method, path, key)
                    assert status == 404 and body["error"]["code"] == "not_found", (method, path, key, body)
    finally:
        assert gw.stop() == 0


def test_keys_never_reach_the_log_the_database_metrics_or_the_replies():
    gw = Gateway(config())
    seen = []
    try:
        kept = Conn(gw.port)
        for key in [KEEP, GONE]:
            assert kept.request("POST", "/v1/chat/completions", key, chat("chat-a"))[0] == 200
        for key in [UNKNOWN, KEEP, ADMIN, None]:
            status, body, _ = once(gw, "POST", "/admin/reload", key)
            seen.append(json.dumps(body))
        assert status == 401
        assert once(gw, "POST", "/v1/chat/completions", UNKNOWN, chat("chat-a"))[0] == 401
        gw.config.write_text(config(after=True) + f"storage:\n  sqlite: {gw.db_path}\n")
        status, body, resp = once(gw, "POST", "/admin/reload", ADMIN)
        assert status == 200
        seen += [json.dumps(body), str(resp.getheaders())]
        # An invalid file whose bad lines hold keys: its errors name the lines, never the keys.
        gw.config.write_text(config(after=True).replace(f'keys: ["{FRESH}"]', f'keys: {{ "{FRESH}": 1 }}')
                             + f'  broken: "{KEEP}"\n' + f"storage:\n  sqlite: {gw.db_path}\n")
        status, body, _ = once(gw, "POST", "/admin/reload", ADMIN)
        assert status == 400 and body["error"]["errors"], body
        seen.append(json.dumps(body))
        gw.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: read_stderr(gw).count("keeping the running config") >= 2, 10)
        assert kept.request("POST", "/v1/chat/completions", FRESH, chat("chat-b"))[0] == 200
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        assert 'user="keep"' in metrics, metrics[:2000]
        seen.append(metrics)
        kept.close()
        # The usage rows are committed within ~50 ms; wait for them before stopping.
        assert wait_until(lambda: len(gw.access_log()) >= 9, 10)
    finally:
        assert gw.stop() == 0
    stderr = read_stderr(gw)
    access = (pathlib.Path(gw.dir.name) / "access.log").read_text()
    assert "/admin/reload" in access and "keep" in access
    database = b"".join(pathlib.Path(str(gw.db_path) + suffix).read_bytes()
                        for suffix in ["", "-wal", "-shm"] if pathlib.Path(str(gw.db_path) + suffix).exists())
    assert b"/v1/chat/completions" in database
    # Every canary ends in TAG: none of them, nor any part long enough to matter, appears.
    for where, text in [("stderr", stderr), ("access log", access), ("replies and /metrics", "\n".join(seen))]:
        assert TAG not in text and TAG[:8] not in text, where
    assert TAG.encode() not in database and TAG[:8].encode() not in database


def test_what_needs_a_restart_is_said_until_the_restart():
    # `server:` and `defaults.timezone` (the quota calendar) are fixed at start-up: a reload
    # that changes them says so, and so does every later reload, since the running server
    # still has the values it started with.
    gw = Gateway(config())
    try:
        changed = config().replace("workers: 2", "workers: 1") + "defaults: { timezone: Europe/Berlin }\n"
        gw.config.write_text(changed + f"storage:\n  sqlite: {gw.db_path}\n")
        for _ in range(2):
            status, body = reload(gw, "post")
            assert status == 200 and body["restart_required"] is True, body
        assert "take effect after a restart" in read_stderr(gw)
    finally:
        gw.stop()
