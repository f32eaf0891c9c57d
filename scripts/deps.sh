#!/usr/bin/env bash
# Installs what building, testing and benchmarking Tollgate need, and only what is missing:
# Debian packages (checked with dpkg -s) and the Python packages of requirements-test.txt
# (checked against their version ranges). Quick and silent when everything is present.
#
#   scripts/deps.sh               install what is missing (root, or sudo when available)
#   scripts/deps.sh --print-apt   print the Debian package names, one a line (used by .ci/run)
#   scripts/deps.sh --check       list what is missing, install nothing; exit 1 if anything is
#
# The Swift toolchain itself is not installed here (it is not a Debian package): see README.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
REQUIREMENTS=scripts/requirements-test.txt

# build: libcurl (CCurl), libyaml (CYAML) and SQLite headers, pkg-config to find libcurl and libyaml.
# test/bench: curl (health probes), nginx (comparison server and fake upstream), wrk (load),
# prometheus (scrapes /metrics in Tests/e2e/test_prometheus.py; brings promtool for deploy/prometheus).
APT_PACKAGES=(libcurl4-openssl-dev libyaml-dev libsqlite3-dev pkg-config ca-certificates tzdata curl nginx wrk prometheus)

apt_wanted() {
    printf '%s\n' "${APT_PACKAGES[@]}"
    # A Python of some sort with pip; a pyenv or venv Python counts as much as Debian's.
    command -v "$PYTHON" >/dev/null 2>&1 || echo python3
    "$PYTHON" -m pip --version >/dev/null 2>&1 || echo python3-pip
}

apt_missing() {
    local p
    for p in $(apt_wanted); do
        dpkg -s "$p" >/dev/null 2>&1 || echo "$p"
    done
}

# Prints the requirement lines whose package is absent or outside its version range.
pip_missing() {
    "$PYTHON" - "$REQUIREMENTS" <<'PY'
import re, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:          # no packaging module: fall back to "is it installed at all"
    Requirement = None
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name = re.split(r"[<>=!~ \[;]", line, maxsplit=1)[0]
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        print(line)
        continue
    if Requirement is not None and not Requirement(line).specifier.contains(version, prereleases=True):
        print(line)
PY
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "deps: need root to run: $*" >&2; exit 1
    fi
}

pip_install() {
    # Debian's own python3 refuses system-wide installs (PEP 668); this machine's tests run
    # with whatever python3 is first on PATH, so install there all the same.
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$PYTHON" -m pip install -q "$@"
}

case "${1:-}" in
    --print-apt) apt_wanted; exit 0 ;;
    --check)
        missing=$(apt_missing; command -v "$PYTHON" >/dev/null 2>&1 && pip_missing || true)
        [ -z "$missing" ] && { echo "deps: everything is installed"; exit 0; }
        echo "deps: missing:"; echo "$missing" | sed 's/^/  /'; exit 1 ;;
    "") ;;
    *) echo "usage: $0 [--print-apt|--check]" >&2; exit 2 ;;
esac

command -v swift >/dev/null 2>&1 ||
    echo "deps: warning: no swift on PATH; install Swift 6.x (e.g. under /opt/swift) to build" >&2

mapfile -t missing < <(apt_missing)
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mapfile -t missing < <(pip_missing)
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: pip install ${missing[*]}"
    pip_install "${missing[@]}"
fi
