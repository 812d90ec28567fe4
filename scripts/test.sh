#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds everything with warnings as errors,
# runs the Swift tests, then the interoperability tests with independent Python clients.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

flags=(-Xswiftc -warnings-as-errors)
echo "== swift build"
swift build "${flags[@]}" --build-tests
echo "== swift test"
mkdir -p .build
set +e
swift test "${flags[@]}" --skip-build > .build/swift-test.log 2>&1
status=$?
set -e
# The per-test progress lines are noise in CI; failures, issues and the closing summary are kept.
awk '/^(◇|↳)/ { next } /^✔ Test / && !/^✔ Test run with/ { next } { print }' .build/swift-test.log
if [ "$status" -ne 0 ]; then
  echo "swift test failed (exit $status)"
  exit "$status"
fi

echo "== interop (python clients against the built servers)"
EARPIECE_BIN_DIR="$(swift build "${flags[@]}" --show-bin-path)" python3 -m pytest -q Tests/Interop

echo "== app protocol (schemas and example calls)"
python3 protocol/validate.py
