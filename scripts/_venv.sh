# Sourced by scripts/serve and scripts/test, from the checkout's root: create .venv if it is
# missing, then install the runtime exactly as the image does (see the Dockerfile): every
# distribution of requirements.lock, pinned and checked against its hash, no resolution.
# So what runs here, what the tests test and what the image ships are the same versions.

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "Python 3.11+ is required (set PYTHON=python3.11)" >&2; exit 1; }
  "$python" -m venv .venv
fi

pip_install() {
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"
}

pip_install --require-hashes --no-deps -r requirements.lock
# The data tier (numpy, pandas, matplotlib: docs/data.md), pinned, unless turned off with
# INSTALL_DATA_TIER=0; the default image leaves it out (the Dockerfile's DATA_TIER).
if [ "${INSTALL_DATA_TIER:-1}" = 1 ]; then
  pip_install --no-deps -r requirements-data.txt
fi

# The worker's C extensions, built in place (skipped with a note where there is no
# compiler: the interpreter repairs are then missing, which the service reports and refuses
# to run without, and the guards run in pure Python). EXTENSIONS_REQUIRED=1 (.ci/run)
# makes a failed build an error.
build_extensions() {
  if [ "${EXTENSIONS_REQUIRED:-}" = 1 ]; then
    .venv/bin/python -m src.build_extensions --require
  else
    .venv/bin/python -m src.build_extensions
  fi
}
build_extensions
