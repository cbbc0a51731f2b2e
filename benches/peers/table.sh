#!/bin/sh
# Runs the Shamir comparison (svault and the peer crates, one run) and prints the
# markdown table of the README's "Performance" section, headed by the machine and load.
# Usage, from the repository root: benches/peers/table.sh [criterion arguments]
set -eu
cd "$(dirname "$0")"
: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
pin=""
if command -v taskset >/dev/null 2>&1; then pin="taskset -c 1"; fi
$pin cargo bench --locked --bench shamir -- "$@" >&2
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'); $(sh -c 'grep -m1 "" /proc/loadavg | cut -d" " -f1-3 | sed "s/^/load average /"')"
echo
python3 table.py
