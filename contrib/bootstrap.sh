#!/usr/bin/env bash
# Set up pumas on a fresh Debian/Ubuntu machine, then run the demo or the tests.
#
#   contrib/bootstrap.sh demo   install everything, then run the end-to-end demo
#   contrib/bootstrap.sh test   install everything, then run the test suite
#
# System packages come from apt when we are root (or via sudo when it works
# without a password); otherwise the script says what to install and stops.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
what=${1:-demo}
shift || true

need_pkgs=(python3 python3-venv python3-dev gcc pkg-config fuse3 libfuse3-dev ntfs-3g stow attr util-linux patch)
# The web UI's tests drive a real browser: Debian's Chromium, through Playwright (which cannot fetch its own).
if [ "$what" = test ]; then need_pkgs+=(chromium); fi
missing=()
apt=()
if [ "$(id -u)" = 0 ]; then apt=(apt-get); elif sudo -n true 2>/dev/null; then apt=(sudo apt-get); fi
for p in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ ${#apt[@]} -eq 0 ]; then
        echo "pumas: these system packages are needed: ${missing[*]}" >&2
        echo "pumas: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "installing system packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

new_enough() { command -v "$1" >/dev/null 2>&1 && "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
python=${PYTHON:-}
if [ -z "$python" ]; then
    for candidate in python3 python3.13 python3.12 python3.11; do
        if new_enough "$candidate"; then python=$candidate; break; fi
    done
fi
if [ -z "$python" ] && [ ${#apt[@]} -gt 0 ]; then
    # An older release (Ubuntu 22.04 ships 3.10): its python3.11 packages will do.
    echo "installing Python 3.11 (the system python3 is older)"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq python3.11 python3.11-venv python3.11-dev >/dev/null \
        && python=python3.11
fi
if [ -z "$python" ] || ! new_enough "$python"; then
    echo "pumas: Python >= 3.11 is needed; $(python3 --version 2>&1) found (install python3.11, or set PYTHON=...)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# pyfuse3 (built from its sdist anyway) is rebuilt once with contrib/pyfuse3-cache.patch so that the
# kernel may cache a view's symlink targets and folder listings (pyfuse3 cannot ask for either).
# Any failure leaves the stock pyfuse3 in place: views work, with a daemon round trip per readlink.
patch_pyfuse3() {
    local py=.venv/bin/python ver tmp
    # eager_receive is the patch's newest part: a pyfuse3 built with an older patch is rebuilt.
    "$py" -c 'import sys, pyfuse3; sys.exit(not hasattr(pyfuse3.Operations, "eager_receive"))' 2>/dev/null && return 0
    ver=$("$py" -c 'import importlib.metadata as m; print(m.version("pyfuse3"))') || return 1
    tmp=$(mktemp -d)
    if "$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$tmp" "pyfuse3==$ver" \
        && tar -xzf "$tmp/pyfuse3-$ver.tar.gz" -C "$tmp" \
        && patch -d "$tmp/pyfuse3-$ver" -p1 --forward --quiet <contrib/pyfuse3-cache.patch \
        && "$py" -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$tmp/pyfuse3-$ver"; then
        echo "pyfuse3 $ver rebuilt with contrib/pyfuse3-cache.patch"
    else
        echo "pumas: note: pyfuse3 $ver stays unpatched (views work; the kernel cannot cache symlinks and listings)" >&2
    fi
    rm -rf "$tmp"
}
patch_pyfuse3 || echo "pumas: note: pyfuse3 not found for patching" >&2

case "$what" in
    demo)
        exec .venv/bin/pumas demo "$@"
        ;;
    test)
        # Lint and types first (config in pyproject.toml): quick, and they fail CI like a test.
        .venv/bin/python -m ruff check .
        .venv/bin/python -m mypy
        # Exit code 5 (no tests collected) must fail CI, like any other failure.
        # Branch coverage of pumasfs/ and materializer/ is printed at the end; below the floor
        # (fail_under in pyproject.toml) the run fails.
        exec .venv/bin/python -m pytest -q -p no:cacheprovider --cov --cov-report=term "$@"
        ;;
    install)
        echo "installed: $here/.venv/bin/pumas"
        ;;
    *)
        echo "usage: contrib/bootstrap.sh demo|test|install" >&2
        exit 2
        ;;
esac
