"""How connect failures are answered (SPEC §3): a connect timeout is 504 `backend_timeout` (as
nginx does), every other connect failure 502 `backend_unreachable` (refused: test_proxy.py)."""
import json
import socket
import time

import isolation
from conftest import Gateway
from test_upstream_dns import CHAT, config, request_head, require_isolation


def ask(gw):
    client = socket.create_connection(("127.0.0.1", gw.port), timeout=20)
    client.sendall(request_head(len(CHAT)) + CHAT)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    client.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)["error"]


def test_a_connect_timeout_is_504():
    """The upstream's accept queue is full, so the kernel drops the SYN: the connect cannot
    finish within connect_timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    gw = Gateway(config(f"http://127.0.0.1:{port}").replace("connect_timeout: 30s", "connect_timeout: 300ms"))
    try:
        started = time.monotonic()
        status, error = ask(gw)
        assert (status, error["code"]) == (504, "backend_timeout"), error
        assert time.monotonic() - started < 5
    finally:
        assert gw.stop() == 0
        filler.close()
        listener.close()


def test_a_name_that_does_not_resolve_is_502():
    require_isolation()
    # Nothing serves DNS on 127.0.0.1: the query is refused at once, the name does not resolve.
    namespace = isolation.Namespace(resolv_conf="nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
                                    hosts="127.0.0.1 localhost\n")
    gw = Gateway(config("http://backend.tollgate-unresolvable.test:8000"), wrap=namespace.wrap())
    try:
        status, error = ask(gw)
        assert (status, error["code"]) == (502, "backend_unreachable"), error
        assert "resolve" in error["message"].lower()
    finally:
        assert gw.stop() == 0
        namespace.close()
