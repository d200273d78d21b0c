#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine with a Rust toolchain:
#
#   ./test.sh               install what the tests need, then run them all
#   ./test.sh <cargo args>  the same, passing the arguments to `cargo test`
#   ./test.sh --deps-only   only install what the tests need
#
# The tests use real outside programs (never skipped when missing): Debian's
# chromium, PostgreSQL's server binaries, node and npm, python3 with venv,
# and `kill`. Whatever is missing is installed with apt-get when running as
# root; otherwise the script stops at once and prints the exact command.
# Tools from npm and PyPI are installed by the tests themselves, under
# target/. It ends with one line, "tests: N passed, M failed", over every
# test binary. `.ci/run` calls this script after its fmt and clippy steps.
set -euo pipefail
cd "$(dirname "$0")"

deps_only=false
case "${1:-}" in
  --deps-only) deps_only=true; shift ;;
  -h | --help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

# Sets `missing` to the Debian packages the tests need that are missing,
# one check per need (the comment says which tests).
find_missing() {
  missing=()
  # The browser tests (playwright-core), the microformats2 suites (`npm pack`)
  # and the real webmention sender @remy/webmention.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  # The widget's browser tests drive Debian's chromium (or $CHROMIUM_PATH).
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
  # moto (the S3 API) and indieweb-utils are installed into venvs.
  if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
  fi
  # The PostgreSQL store's tests start their own server from Debian's binaries
  # (as the `postgres` user when run as root, which the package creates).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  # Process tests signal the binary with the `kill` program.
  type -P kill >/dev/null 2>&1 || missing+=(procps)
}

find_missing
if [ ${#missing[@]} -gt 0 ]; then
  packages="${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: the tests need Debian packages that are missing: $packages" >&2
    echo "Install them as root, then run ./test.sh again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages" >&2
    exit 1
  fi
  echo "== installing $packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
  find_missing
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: still missing after apt-get install: ${missing[*]}" >&2
    exit 1
  fi
fi

if $deps_only; then
  echo "test.sh: everything the tests need is installed"
  exit 0
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo not found: install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
# With PostgreSQL (a cargo feature the default build leaves out) so that
# its store and import are tested too.
cargo test --locked --features postgres "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $# -eq 0 ]]; then
  # The default build's unit tests too: without PostgreSQL, among them the
  # refusal of a postgres:// URL naming the feature.
  cargo test --locked --lib 2>&1 | tee -a "$log"
  [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
fi
set -e
# One closing line over every test binary's "test result:" line.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
