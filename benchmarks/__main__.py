"""Run every benchmark, print a table and write _build/bench/resultats.json."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    selected = argv or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    results = []
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", flush=True)
        for row in module.run():
            row = {"banc": name, **row}
            results.append(row)
            goal = f"  (objectif {row['objectif']} {row['unite']})" if "objectif" in row else ""
            print(f"   {row['mesure']:<60} {row['valeur']:>12.3f} {row['unite']}{goal}", flush=True)
    out = ROOT / "_build" / "bench" / "resultats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": sys.version.split()[0],
            "machine": platform.machine(), "processeurs": __import__("os").cpu_count()}
    out.write_text(json.dumps({"contexte": meta, "resultats": results}, indent=2, ensure_ascii=False))
    print(f"Résultats écrits dans {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
