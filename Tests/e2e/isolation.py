"""Runs the gateway in a private mount namespace (unshare --mount) whose /etc/resolv.conf,
/etc/hosts or /etc/ssl/certs are files the test wrote, so name resolution and the system trust
store are under the test's control and every lookup stays on loopback. Needs root (or
CAP_SYS_ADMIN) and util-linux's unshare; tests skip with the reason otherwise."""
import functools
import os
import pathlib
import select
import shlex
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time


@functools.lru_cache(maxsize=1)
def unavailable_reason():
    """None when a private mount namespace with bind mounts can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root to bind-mount files in a private mount namespace"
    if shutil.which("unshare") is None:
        return "util-linux unshare is not installed"
    with tempfile.NamedTemporaryFile("w") as probe:
        probe.write("probe\n")
        probe.flush()
        try:
            result = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                 f"mount --bind {shlex.quote(probe.name)} /etc/hosts && cat /etc/hosts"],
                capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"unshare failed: {error}"
    if result.returncode != 0 or result.stdout != b"probe\n":
        return "unshare --mount cannot bind-mount here: " + result.stderr.decode(errors="replace").strip()
    return None


class Namespace:
    """Files to bind-mount over system paths for one process: `wrap()` is the command prefix."""

    def __init__(self, resolv_conf=None, hosts=None, certs_dir=None):
        self.dir = tempfile.TemporaryDirectory()
        root = pathlib.Path(self.dir.name)
        self.mounts = []
        if resolv_conf is not None:
            (root / "resolv.conf").write_text(resolv_conf)
            self.mounts.append((root / "resolv.conf", "/etc/resolv.conf"))
        if hosts is not None:
            (root / "hosts").write_text(hosts)
            self.mounts.append((root / "hosts", "/etc/hosts"))
        if certs_dir is not None:
            self.mounts.append((pathlib.Path(certs_dir), "/etc/ssl/certs"))

    def wrap(self):
        script = " && ".join(f"mount --bind {shlex.quote(str(source))} {target}" for source, target in self.mounts)
        # unshare and sh both exec, so the gateway keeps the pid Popen returned.
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script + ' && exec "$@"', "sh"]

    def close(self):
        self.dir.cleanup()


class SilentResolver:
    """A UDP socket on port 53 of a loopback address that receives queries and never answers:
    glibc's stub resolver waits its full `options timeout` for each."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # Somewhere in 127/8 that nothing else uses, so port 53 is free (root may bind it).
        for third in range(1, 250):
            address = f"127.53.{(os.getpid() + third) % 250 + 1}.1"
            try:
                self.sock.bind((address, 53))
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free loopback address for a silent resolver")
        self.address = self.sock.getsockname()[0]
        self.queries = 0

    def resolv_conf(self, timeout_seconds):
        return f"nameserver {self.address}\noptions timeout:{timeout_seconds} attempts:1\n"

    def wait_for_query(self, seconds):
        """True once a query arrived (read and dropped) within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                self.sock.recv(4096)
                self.queries += 1
                return True

    def close(self):
        self.sock.close()


class LoopbackResolver(SilentResolver):
    """Answers every A query with 127.0.0.1 and every other query with no records, and counts
    the A queries: how often the gateway really resolved a name."""

    def __init__(self):
        super().__init__()
        self.a_queries = 0
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(query) < 12:
                continue
            # The question: labels up to the zero byte, then type and class (RFC 1035 §4.1.2).
            end = 12
            while end < len(query) and query[end] != 0:
                end += query[end] + 1
            if end + 5 > len(query):
                continue
            qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
            question = query[12:end + 5]
            answers = b""
            if qtype == 1:
                self.a_queries += 1
                answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
            header = query[:2] + struct.pack("!HHHHH", 0x8180, 1, 1 if answers else 0, 0, 0)
            self.sock.sendto(header + question + answers, peer)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        super().close()
