#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets, cargo-fuzz + libFuzzer + AddressSanitizer) for
# SECONDS each (default 60), starting from the seeds in fuzz/corpus/<target>/. New inputs go to
# fuzz/target/corpus/<target>/ (ignored), so the committed corpus only changes by hand:
#   scripts/fuzz.sh 300                # 5 minutes a target
#   scripts/fuzz.sh 60 html import     # only these targets
# A crash stops its target and leaves the input in fuzz/artifacts/<target>/; the script exits 1
# after running the rest. Needs a nightly toolchain and cargo-fuzz (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(avro_decode framing import html review_checks)
case "$secs" in '' | *[!0-9]*) echo "SECONDS must be a number, got '$secs'" >&2; exit 2 ;; esac

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/target/corpus/$t" "fuzz/corpus/$t"
  echo "== $t: ${secs}s" >&2
  if ! cargo +nightly fuzz run "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>"fuzz/target/$t.log"; then
    failed+=("$t")
    tail -40 "fuzz/target/$t.log" >&2
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+.*DONE" "fuzz/target/$t.log" >&2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "no crash in ${targets[*]}" >&2
