"""The pilot territories of the book (``data/pilotes/territoires.yml``): real territories, shown
on the public statistics that describe them (``data/pilotes/observations.csv``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from observatoire import paths


@dataclass(frozen=True)
class Pilot:
    code: str
    slug: str
    titre: str


@lru_cache(maxsize=1)
def _config() -> dict:
    return yaml.safe_load(paths.PILOTS_FILE.read_text(encoding="utf-8"))


def pilots() -> tuple[Pilot, ...]:
    """The pilots, in the book's order."""
    return tuple(Pilot(p["code"], p["slug"], p["titre"]) for p in _config()["pilotes"])
