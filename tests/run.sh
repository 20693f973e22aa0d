#!/usr/bin/env bash
# The whole test suite: installs what it needs, then lint, format check, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install.sh --no-start
export QT_QPA_PLATFORM=offscreen
echo "== ruff check";  .venv/bin/ruff check .
echo "== ruff format"; .venv/bin/ruff format --check .
echo "== mypy";        .venv/bin/mypy triage sandbox app
echo "== pytest";      .venv/bin/python -m pytest -q "$@"
