#!/usr/bin/env python3
"""Print the latest `cargo bench --bench shamir` results as a markdown table.

Reads criterion's `<criterion dir>/<group>/<function>[/<parameter>]/new/` files:
`benchmark.json` (names and throughput) and `estimates.json` (statistics, in ns).

Usage (from benches/peers): python3 table.py [CRITERION_DIR]

CRITERION_DIR defaults to $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else
target/criterion. Throughput is given in MiB/s (2^20 bytes per second), the unit
criterion itself prints, computed from the median time.
"""

import json
import os
import sys
from pathlib import Path

# Cases in the order the bench runs them; any other group is listed after these.
CASES = [
    "split_32B_3of8",
    "combine_32B_3",
    "split_1MiB_3of8",
    "combine_1MiB_3",
    "consistency_32B_255_t128",
]
OURS = "svault"


def criterion_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return Path("target") / "criterion"


def fmt_time(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def load(root: Path) -> list[dict]:
    rows = []
    for bench_file in sorted(root.glob("**/new/benchmark.json")):
        bench = json.loads(bench_file.read_text())
        estimates = json.loads((bench_file.parent / "estimates.json").read_text())
        median = estimates["median"]["point_estimate"]
        low = estimates["median"]["confidence_interval"]["lower_bound"]
        high = estimates["median"]["confidence_interval"]["upper_bound"]
        throughput = bench.get("throughput") or {}
        nbytes = throughput.get("Bytes") or throughput.get("BytesDecimal")
        rows.append(
            {
                "case": bench["group_id"],
                "impl": bench["function_id"] or "",
                "rng": bench.get("value_str") or "",
                "median": median,
                "low": low,
                "high": high,
                "mibs": nbytes / (median * 1e-9) / 2**20 if nbytes else None,
            }
        )
    return rows


def main() -> int:
    root = criterion_dir()
    rows = load(root)
    if not rows:
        print(f"no criterion results under {root}", file=sys.stderr)
        return 1

    def case_key(case: str) -> tuple:
        return (CASES.index(case), "") if case in CASES else (len(CASES), case)

    # svault per (case, rng), for the ratio column; split cases compare like with like.
    ours = {(r["case"], r["rng"]): r["median"] for r in rows if r["impl"] == OURS}
    has_rng = any(r["rng"] for r in rows)

    header = ["case", "implementation"]
    if has_rng:
        header.append("rng")
    header += ["median time", "95% CI of median", "MiB/s", "time / svault"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")

    rows.sort(key=lambda r: (case_key(r["case"]), r["impl"] != OURS, r["median"], r["rng"]))
    for r in rows:
        base = ours.get((r["case"], r["rng"]))
        cells = [r["case"], r["impl"]]
        if has_rng:
            cells.append(r["rng"] or "–")
        cells += [
            fmt_time(r["median"]),
            f"{fmt_time(r['low'])} – {fmt_time(r['high'])}",
            f"{r['mibs']:.1f}" if r["mibs"] is not None else "–",
            f"{r['median'] / base:.2f}×" if base else "–",
        ]
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        "Median of criterion's samples; MiB/s = secret bytes / median time. "
        "`time / svault` divides by svault's median in the same case"
        + (" and with the same rng" if has_rng else "")
        + "."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
