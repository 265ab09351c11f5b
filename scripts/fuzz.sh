#!/usr/bin/env bash
# Runs every go fuzz target in the tree for FUZZTIME each (default 20s), one after another.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-20s}"
fail=0
while IFS=: read -r file _ line; do
    pkg="./$(dirname "$file")"
    name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$line")
    echo "== $pkg $name ($FUZZTIME)"
    if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"; then fail=1; fi
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | sort)

# csv: the long crash-consistency variant (1000 SIGKILLed children with torn writes instead of
# make test's 200) and the long model test, SOFS_LONG=1. SKIP_CSV_LONG=1 skips them.
if [ "${SKIP_CSV_LONG:-}" = "" ]; then
    echo "== ./csv TestCrashConsistency, TestModel (SOFS_LONG=1)"
    if ! SOFS_LONG=1 go test -count=1 -timeout 60m -run '^(TestCrashConsistency|TestModel)$' ./csv/; then fail=1; fi
fi
exit $fail
