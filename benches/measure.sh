#!/usr/bin/env bash
# Builds the release binary and prints the end-to-end measurements of benches/scrape.rs
# as a Markdown table: scrape overhead, CPU, memory, single flight and start-up.
# Pass --quick for 1,000 ports only. Takes a few minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench scrape -- "$@"
