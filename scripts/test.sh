#!/usr/bin/env bash
# The test suite: unit tests (src/**/*.test.ts, in Node) and browser tests (e2e/*.test.ts,
# headless Chromium through Playwright), run by Node's test runner one file at a time
# (browser tests would fight over the two cores). A test file that leaves a browser or server
# open must not hang the run (--test-force-exit), nor may a single test (--test-timeout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mapfile -t files < <(find src e2e -name '*.test.ts' -not -path '*/node_modules/*' | sort)
exec node --import tsx --test --test-concurrency=1 --test-force-exit --test-timeout=600000 --test-reporter=spec "${files[@]}"
