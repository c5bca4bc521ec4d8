#!/usr/bin/env bash
# The test suite: unit tests (src/**/*.test.ts, in Node) and browser tests (e2e/*.test.ts,
# headless Chromium through Playwright), run by Node's test runner one file at a time
# (browser tests would fight over the two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mapfile -t files < <(find src e2e -name '*.test.ts' -not -path '*/node_modules/*' | sort)
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
