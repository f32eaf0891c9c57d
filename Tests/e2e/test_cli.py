"""The command line (SPEC §1): help on stdout with exit 0, usage errors as `tollgate: ...` plus a
usage hint on stderr with exit 64 (EX_USAGE) and nothing started, both option spellings, `--`."""
import os
import pathlib
import select
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, binary


def run(*args, cwd=None):
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=20, cwd=cwd)


def quick_start_config(directory, name="tollgate.yaml"):
    """The shipped quick-start config (simulated backend, no upstream needed) on port 0."""
    text = (ROOT / "Config/tollgate.yaml").read_text().replace("127.0.0.1:8080", "127.0.0.1:0")
    path = pathlib.Path(directory) / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("args, page", [
    ([], "usage: tollgate <command>"),
    (["--help"], "usage: tollgate <command>"),
    (["-h"], "usage: tollgate <command>"),
    (["help"], "usage: tollgate <command>"),
    (["serve", "--help"], "usage: tollgate serve [--config FILE]"),
    (["serve", "--bogus", "-h"], "usage: tollgate serve [--config FILE]"),
    (["help", "check-config"], "usage: tollgate check-config FILE"),
    (["keygen", "-h"], "usage: tollgate keygen [--user NAME]"),
    (["version", "--help"], "usage: tollgate version"),
    (["report", "-h"], "usage: tollgate report [--config FILE] [--db FILE] [--since 1h|24h|7d|30d|YYYY-MM-DD]"),
])
def test_help_goes_to_stdout_and_exits_zero(args, page):
    out = run(*args)
    assert out.returncode == 0, out.stderr
    assert page in out.stdout
    assert out.stderr == ""


@pytest.mark.parametrize("args, message, usage", [
    (["bogus"], "unknown command 'bogus'", "usage: tollgate <command>"),
    (["--bogus"], "unknown option '--bogus'", "usage: tollgate <command>"),
    (["help", "bogus"], "unknown command 'bogus'", "usage: tollgate <command>"),
    (["serve", "--bogus"], "unknown option '--bogus'", "usage: tollgate serve"),
    (["serve", "--config"], "missing value for '--config'", "usage: tollgate serve"),
    (["serve", "--config", "-x"], "'-x' looks like an option", "usage: tollgate serve"),
    (["serve", "extra"], "unexpected argument 'extra'", "usage: tollgate serve"),
    (["serve", "--upstream-dns-cache-seconds", "soon"], "needs an integer, not 'soon'", "usage: tollgate serve"),
    (["serve", "--upstream-dns-cache-seconds=99999999999999999999"], "needs an integer", "usage: tollgate serve"),
    (["check-config"], "missing argument FILE", "usage: tollgate check-config FILE"),
    (["check-config", "a.yaml", "b.yaml"], "unexpected argument 'b.yaml'", "usage: tollgate check-config FILE"),
    (["keygen", "--user"], "missing value for '--user'", "usage: tollgate keygen"),
    (["keygen", "-x"], "unknown option '-x'", "usage: tollgate keygen"),
    (["version", "now"], "unexpected argument 'now'", "usage: tollgate version"),
])
def test_usage_errors_exit_64_with_a_hint_on_stderr(args, message, usage):
    out = run(*args)
    assert out.returncode == 64, (out.returncode, out.stderr)
    assert out.stdout == ""
    assert out.stderr.startswith("tollgate: "), out.stderr
    assert message in out.stderr
    assert usage in out.stderr


def test_version_flag_and_command():
    out = run("--version")
    assert (out.returncode, out.stdout) == (0, "tollgate 0.1.0\n")
    out = run("version")
    lines = out.stdout.splitlines()
    assert out.returncode == 0 and lines[0] == "tollgate 0.1.0" and lines[1].startswith("libcurl/")
    # SPEC §1: the linked SQLite too (the usage log's library).
    assert len(lines) == 3 and lines[2].startswith("SQLite/3.")


def test_check_config_takes_a_dash_file_after_double_dash():
    with tempfile.TemporaryDirectory() as directory:
        quick_start_config(directory, name="-odd.yaml")
        out = run("check-config", "--", "-odd.yaml", cwd=directory)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("-odd.yaml: ok")


def test_keygen_user_in_equals_spelling():
    out = run("keygen", "--user=alice")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("key:    tg-")
    assert lines[1].startswith("config: sha256:")
    assert "  alice:" in lines and f'    keys: ["{lines[1].split()[1]}"]' in lines


def test_serve_takes_equals_spellings_and_the_last_config_wins():
    with tempfile.TemporaryDirectory() as directory:
        config = quick_start_config(directory)
        proc = subprocess.Popen([binary(), "serve", "--config", "/nonexistent.yaml", f"--config={config}",
                                 "--upstream-dns-cache-seconds=0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=directory)
        try:
            stderr = b""
            deadline = time.monotonic() + 20
            while b"listening on" not in stderr and time.monotonic() < deadline and proc.poll() is None:
                ready, _, _ = select.select([proc.stderr], [], [], 0.2)
                if ready:
                    stderr += os.read(proc.stderr.fileno(), 65536)
            assert b"listening on" in stderr, stderr
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
