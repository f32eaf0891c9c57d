"""Issue 9 item 6: `tollgate report` against hand-computed figures, in all three formats, and
`--what-if` answering "should I move my always-on T4 Space to RunPod serverless?" in one command.

The database is the real one: a `tollgate serve` run creates it (the usage writer's schema,
UsageSchema migration 1) and takes one real request; the test then adds rows of its own with
Python's sqlite3 in a past day (2025-10-01 UTC), so every figure below can be worked out by hand:

  alice, qwen-edit, backend hf-t4: 50 image edits of 30 s, one every 29 min from 00:00
          each 30 000 ms GPU; cost attributed on the always-on T4 ($0.40/h = 400 000 µ$/h):
          400 000 × 30 000 / 3 600 000 = 3 333.3 → 3 334 µ$;  50 × 3 334 = 166 700 µ$
  bob,   diarize,   backend hf-t4: 10 requests of 2 s at 00:01:00 + i × 10 s
          400 000 × 2 000 / 3 600 000 = 222.2 → 223 µ$;       10 × 223   =   2 230 µ$
  nobody (401), qwen-edit, no backend: 1 row, no GPU, no cost
  totals: 61 requests, 1 error, 1 520 000 ms = 1520.000 GPU-s, 168 930 µ$ = 0.168930
"""
import csv
import io
import json
import sqlite3
import subprocess
import tempfile
import pathlib

import pytest

from conftest import AUTH, ROOT, USER_KEY, Gateway, binary, chat

DAY = 1_759_276_800          # 2025-10-01T00:00:00Z
PERIOD = ["--since", "2025-10-01", "--until", "2025-10-02"]

CONFIG = """
server: {{ listen: 127.0.0.1:0, workers: 1 }}
storage: {{ sqlite: {db} }}
backends:
  hf-t4:                      # "my always-on T4 Space" (simulated here: no GPU needed)
    kind: simulated
    latency: 5ms
    price: {{ per_hour: 0.40 }}
    billing: always_on
    max_concurrency: 1
models:
  qwen-edit: {{ task: chat, backends: [hf-t4] }}
  diarize: {{ task: chat, backends: [hf-t4] }}
users:
  alice: {{ keys: ["{key}"] }}
"""

# The research's prices (Config/prices.yaml), kept here so the hand computations below do not
# move when the shipped snapshot is refreshed.
PRICES = """
targets:
  - name: t4-sleep15m
    billing: always_on
    price: { per_hour: 0.40 }
    max_concurrency: 1
    sleep_after: 15m
    cold_start: 60s
    source: https://huggingface.co/docs/hub/spaces-gpus
    as_of: 2026-08-22
  - name: runpod-flex-16gb
    billing: per_second
    price: { per_second: 0.00016, round_up: 1s }
    source: https://docs.runpod.io/serverless/pricing
    as_of: 2026-08-20
  - name: flat
    billing: per_request
    price: { per_request: 0.002 }
    source: https://example.com/flat-pricing
    as_of: 2026-08-20
"""

# What-if on 2025-10-01 (24 h). 60 requests reached a backend (the 401 did not); none overlap
# (bob's start at 00:01:00, after alice's first ends at 00:00:30; 2 s each, 10 s apart): peak 1.
#
# flat:             60 × 2 000 µ$ = 120 000 µ$
# runpod-flex-16gb: 160 µ$/s, each request rounded up to whole seconds (all already whole):
#                   50 × 30 s × 160 = 240 000 µ$ + 10 × 2 s × 160 = 3 200 µ$ → 243 200 µ$
# t4-sleep15m:      windows [start, end + 15 min]: alice's first [00:00:00, 00:15:30] and bob's
#                   (the last ends 00:02:32 → 00:17:32) merge into one spell of 1 052 s; alice's
#                   other 49 (00:29 … 23:41, 29 min apart > 15.5 min) are spells of 930 s each,
#                   the last ending 23:56:30, inside the day.
#                   awake 1 052 + 49 × 930 = 46 622 s; 50 wakes × 60 s = 3 000 s;
#                   billed 49 622 s → 400 000 × 49 622 000 / 3 600 000 = 5 513 555.6 → 5 513 556 µ$
# hf-t4 (config):   always on, 24 h × 400 000 µ$ = 9 600 000 µ$
EXPECTED_WHAT_IF = [
    ("flat", "per_request", "0.120000", "60 requests × $0.002"),
    ("runpod-flex-16gb", "per_second", "0.243200",
     "60 requests, 1520 GPU-s (each rounded up to 1 s), 1520 s billed at $0.00016/s"),
    ("t4-sleep15m", "always_on", "5.513556",
     "13.0 h awake of 24.0 h, 50 wakes × 60 s (GPU busy 0.4 h) at $0.40/h"),
    ("hf-t4", "always_on", "9.600000", "24.0 h × 1 instance at $0.40/h"),
]


def insert(db, rid, ts, seconds, user, model, backend, status, gpu_ms, cost):
    db.execute("INSERT INTO requests (id, ts, end_ts, user, model, backend, status, latency_ms, gpu_seconds,"
               " cost_usd, gpu_ms, cost_microdollars) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
               (rid, ts, ts + seconds, user, model, backend, status, seconds * 1000, gpu_ms / 1000, cost / 1e6,
                gpu_ms, cost))


@pytest.fixture(scope="module")
def data():
    with tempfile.TemporaryDirectory() as directory:
        directory = pathlib.Path(directory)
        db_path = directory / "usage.db"
        config = directory / "tollgate.yaml"
        config.write_text(CONFIG.format(db=db_path, key=USER_KEY))
        prices = directory / "prices.yaml"
        prices.write_text(PRICES)
        # The real gateway creates the database and logs one real request (today, outside the
        # hand-computed day).
        gw = Gateway(config.read_text())
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        conn.request("POST", "/v1/chat/completions", json.dumps(chat("qwen-edit")), AUTH)
        assert conn.getresponse().status == 200
        conn.close()
        assert gw.stop() == 0

        db = sqlite3.connect(db_path)
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 1
        # Its id is random hex: kept, so it is never confused with the hand-made rows below.
        real_id = db.execute("SELECT id FROM requests").fetchone()[0]
        for i in range(50):
            insert(db, f"a{i}", DAY + i * 29 * 60, 30, "alice", "qwen-edit", "hf-t4", 200, 30_000, 3_334)
        for i in range(10):
            insert(db, f"b{i}", DAY + 60 + i * 10, 2, "bob", "diarize", "hf-t4", 200, 2_000, 223)
        insert(db, "anon", DAY + 3_600, 0.001, None, "qwen-edit", None, 401, 0, 0)
        db.commit()
        db.close()
        yield {"db": db_path, "config": config, "prices": prices, "dir": directory, "real_id": real_id}


def report(*args, cwd=None):
    return subprocess.run([binary(), "report", *args], capture_output=True, text=True, timeout=30, cwd=cwd)


def test_json_totals_rows_and_what_if(data):
    out = report("--config", str(data["config"]), *PERIOD, "--what-if", "--prices", str(data["prices"]),
                 "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["since"] == "2025-10-01T00:00:00Z" and doc["until"] == "2025-10-02T00:00:00Z"
    assert doc["hours"] == 24
    assert doc["totals"] == {"requests": 61, "errors": 1, "gpu_seconds": 1520.0, "cost_usd": 0.16893}
    # --by model (the default), most expensive first.
    assert doc["rows"] == [
        {"model": "qwen-edit", "requests": 51, "errors": 1, "gpu_seconds": 1500.0, "cost_usd": 0.1667},
        {"model": "diarize", "requests": 10, "errors": 0, "gpu_seconds": 20.0, "cost_usd": 0.00223},
    ]
    got = [(w["target"], w["billing"], f'{w["cost_usd"]:.6f}', w["basis"]) for w in doc["what_if"]]
    assert got == EXPECTED_WHAT_IF
    by_name = {w["target"]: w for w in doc["what_if"]}
    assert by_name["hf-t4"]["origin"] == "backend" and by_name["hf-t4"]["source"] is None
    assert by_name["runpod-flex-16gb"]["source"] == "https://docs.runpod.io/serverless/pricing"
    assert by_name["runpod-flex-16gb"]["as_of"] == "2026-08-20"
    assert by_name["t4-sleep15m"]["wakes"] == 50
    assert doc["priced_requests"] == 60 and doc["peak_concurrency"] == 1
    # The exact text, not a float's rounding: six decimals as in the usage log.
    assert '"cost_usd":0.168930' in out.stdout


@pytest.mark.parametrize("by, expected", [
    ("user", [("alice", 50, 0.1667), ("bob", 10, 0.00223), (None, 1, 0.0)]),
    ("backend", [("hf-t4", 60, 0.16893), (None, 1, 0.0)]),
    ("day", [("2025-10-01", 61, 0.16893)]),
])
def test_json_by(data, by, expected):
    out = report("--db", str(data["db"]), *PERIOD, "--by", by, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [(r[by], r["requests"], r["cost_usd"]) for r in doc["rows"]] == expected
    assert doc["what_if"] == []


def test_table_is_aligned_and_has_the_same_figures(data):
    out = report("--config", str(data["config"]), *PERIOD, "--what-if", "--prices", str(data["prices"]))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Usage 2025-10-01T00:00:00Z to 2025-10-02T00:00:00Z (24.0 h), by model"
    header = lines.index(next(l for l in lines if l.startswith("model ")))
    table = lines[header:header + 4]
    assert [l.split() for l in table] == [
        ["model", "requests", "errors", "gpu_seconds", "cost_usd"],
        ["qwen-edit", "51", "1", "1500.000", "0.166700"],
        ["diarize", "10", "0", "20.000", "0.002230"],
        ["total", "61", "1", "1520.000", "0.168930"],
    ]
    # Right-aligned numbers: every line of the table ends at the same column.
    assert len({len(l) for l in table}) == 1
    start = lines.index(next(l for l in lines if l.startswith("target ")))
    rows = lines[start + 1:start + 1 + len(EXPECTED_WHAT_IF)]
    basis_column = lines[start].index("basis")
    for line, (target, billing, cost, basis) in zip(rows, EXPECTED_WHAT_IF):
        assert line.split()[:3] == [target, billing, cost]
        assert line[basis_column:] == basis
    assert "  https://docs.runpod.io/serverless/pricing (as of 2026-08-20)" in lines


def test_csv_rows_and_what_if_quote_per_rfc_4180(data):
    out = report("--db", str(data["db"]), *PERIOD, "--by", "user", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["user", "requests", "errors", "gpu_seconds", "cost_usd"],
        ["alice", "50", "0", "1500.000", "0.166700"],
        ["bob", "10", "0", "20.000", "0.002230"],
        ["", "1", "1", "0.000", "0.000000"],
    ]
    out = report("--config", str(data["config"]), *PERIOD, "--prices", str(data["prices"]), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["target", "billing", "cost_usd", "basis", "origin", "source", "as_of"]
    assert [tuple(r[:4]) for r in rows[1:]] == EXPECTED_WHAT_IF
    # The basis has commas, so it is quoted on the wire.
    assert '"60 requests, 1520 GPU-s (each rounded up to 1 s), 1520 s billed at $0.00016/s"' in out.stdout


def test_move_my_t4_space_to_runpod_in_one_command(data):
    """The newcomer's question, answered with the shipped price list (Config/prices.yaml, found
    from the repository root): the always-on T4 Space ($0.40/h, 24 h = $9.60) against RunPod's
    16 GB flex workers ($0.00016/s, whole seconds: 1 520 s = $0.2432) on the same day's traffic."""
    out = report("--config", str(data["config"]), *PERIOD, "--what-if", "--format", "json", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    costs = {w["target"]: w["cost_usd"] for w in json.loads(out.stdout)["what_if"]}
    assert costs["hf-t4"] == 9.6                      # what the Space bills now
    assert costs["hf-space-t4-small"] == 9.6          # the same, from the price list
    assert costs["runpod-flex-16gb"] == 0.2432
    assert costs["hf-space-t4-small-sleep15m"] == 5.513556   # the sleep timer: hours awake, not 25 min
    assert min(costs, key=costs.get) != "hf-t4"


def test_real_rows_are_reported_too(data):
    # The row the gateway itself wrote (today) is in a report of the last day.
    out = report("--db", str(data["db"]), "--since", "24h", "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["totals"]["requests"] == 1
    db = sqlite3.connect(data["db"])
    gpu_ms, cost = db.execute("SELECT gpu_ms, cost_microdollars FROM requests WHERE id = ?",
                              (data["real_id"],)).fetchone()
    db.close()
    assert round(doc["totals"]["gpu_seconds"] * 1000) == gpu_ms
    assert round(doc["totals"]["cost_usd"] * 1e6) == cost


def test_the_database_is_opened_read_only(data):
    before = data["db"].read_bytes()
    assert report("--db", str(data["db"]), *PERIOD, "--what-if", "--prices", str(data["prices"])).returncode == 0
    assert data["db"].read_bytes() == before


def test_errors(data, tmp_path):
    missing = report("--db", str(tmp_path / "nope.db"))
    assert missing.returncode == 1
    assert f"no usage database at {tmp_path / 'nope.db'}" in missing.stderr
    assert not (tmp_path / "nope.db").exists()          # read-only: never created

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert "not a Tollgate usage database" in report("--db", str(other)).stderr

    bad_prices = tmp_path / "prices.yaml"
    bad_prices.write_text("targets:\n  - name: x\n    billing: per_request\n    price: { per_request: 0.01 }\n")
    out = report("--db", str(data["db"]), "--prices", str(bad_prices))
    assert out.returncode == 1
    assert f"{bad_prices}:2: targets[0]: missing required key 'source'" in out.stderr

    for args, message in [
        (["--since", "yesterday"], "'--since' needs a span back from now such as 1h, 24h, 7d, 30d (any whole number of h or d), or a UTC day YYYY-MM-DD"),
        (["--until", "2025-02-30"], "'--until' needs"),
        (["--by", "week"], "'--by' is one of user, model, backend, day, not 'week'"),
        (["--format", "xml"], "'--format' is one of table, json, csv"),
        (["--config", "a.yaml", "--db", "b.db"], "'--config' and '--db' cannot be used together"),
        (["--since", "2025-10-02", "--until", "2025-10-01"], "the period is empty"),
    ]:
        out = report("--db", str(data["db"]), *args) if "--db" not in args else report(*args)
        assert out.returncode == 64, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert out.stdout == ""
        if "the period is empty" not in message:
            assert "usage: tollgate report" in out.stderr


def test_what_if_without_any_target_says_how_to_get_one(data, tmp_path):
    # --db names no config, and there is no Config/prices.yaml under this working directory.
    out = report("--db", str(data["db"]), *PERIOD, "--what-if", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "(no targets: the config has no priced backend and no price list was read; pass --prices FILE)" in out.stdout
    out = report("--db", str(data["db"]), *PERIOD, "--what-if", "--format", "json", cwd=tmp_path)
    assert json.loads(out.stdout)["what_if"] == []
