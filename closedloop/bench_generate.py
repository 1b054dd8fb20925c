"""Benchmark body for the generate stage: build a demo firm and write its vendor exports and config.

Run as `python -m closedloop.bench_generate OUT_DIR --tier s [--people N] [--seed 42]`; prints JSON.
Generation is reported by the benchmark but not counted in its totals: a customer's data already exists.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(out_dir: Path, tier: str, seed: int, people: int | None) -> dict:
    from closedloop.demo import generate_firm, write_demo
    from closedloop.demo.config import write_demo_config

    t0 = time.perf_counter()
    firm = generate_firm(tier, seed, people=people)
    built = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_demo(firm, out_dir)
    config = write_demo_config(out_dir, firm.params["as_of"])  # files transport, data_dir = out_dir
    done = time.perf_counter()
    return {
        "seconds": round(done - t0, 3),
        "build_seconds": round(built - t0, 3),
        "write_seconds": round(done - built, 3),
        "rows": sum(df.height for df in firm.tables.values()),  # the firm's canonical truth, all tables
        "people": firm.params["people"],
        "config": str(config),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--tier", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--people", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(main(args.out_dir, args.tier, args.seed, args.people), default=str))
