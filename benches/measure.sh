#!/usr/bin/env bash
# Builds the release binary and prints the end-to-end measurements of benches/scrape.rs
# as a Markdown table: scrape overhead, CPU, memory, single flight and start-up.
# Pass --quick for 1,000 ports only. Takes under a minute after the build on two cores,
# and needs taskset (util-linux) to give the simulated API a CPU of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench scrape -- "$@"
