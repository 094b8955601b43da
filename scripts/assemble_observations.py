"""Assemble the pilots' public statistics (data/pilotes/observations.csv) from the curated
source files (data/pilotes/sources/*.csv), one per research track: INSEE, other producers.

Each source file holds, per value, its provenance and the verbatim excerpt it was read from
(see data/README.md). This script only concatenates them in a stable order (territory,
indicator, period) and checks that no value is given twice; `make observations` runs it and
tests/test_observations.py checks that the committed file is what it writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "pilotes" / "sources"
OUTPUT = ROOT / "data" / "pilotes" / "observations.csv"
COLUMNS = ["territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire", "producteur",
           "jeu_de_donnees", "url", "millesime", "date_consultation", "licence", "extrait"]


def assemble(sources: Path = SOURCES) -> pd.DataFrame:
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(sources.glob("*.csv"))]
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    twice = table[table.duplicated(["territoire", "indicateur", "periode"], keep=False)]
    if len(twice):
        raise SystemExit("valeurs données deux fois :\n" + twice[["territoire", "indicateur", "periode", "url"]].to_string())
    return table.sort_values(["territoire", "indicateur", "periode"], kind="stable").reset_index(drop=True)


def main(output: Path = OUTPUT) -> None:
    table = assemble()
    output.write_text(table.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    print(f"{len(table)} observations écrites dans {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
