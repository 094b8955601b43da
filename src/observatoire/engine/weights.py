"""Weights of each element within its parent: equal by default, or explicit from a YAML file.

The YAML file has one optional mapping per level; an element not named keeps weight 1::

    indicateurs: {chomage_taux: 2}
    communs: {eau: 1.5}
    axes: {3: 2}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from observatoire.errors import Problem, ValidationError

LEVELS = ("indicateurs", "communs", "axes")


@dataclass(frozen=True)
class Weights:
    indicateurs: dict[str, float] = field(default_factory=dict)
    communs: dict[str, float] = field(default_factory=dict)
    axes: dict[int, float] = field(default_factory=dict)

    def of(self, level: str, element) -> float:
        return float(getattr(self, level).get(element, 1.0))


EQUAL = Weights()


def load_weights(path: str | Path, known: dict[str, set]) -> Weights:
    """Read a weights YAML file, checking every name and value; ``known`` lists valid names."""
    path = Path(path)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError([Problem(str(path), None, None, None, f"fichier de poids illisible : {exc}")]) from None
    problems = []
    parsed = {}
    if not isinstance(content, dict):
        raise ValidationError([Problem(str(path), None, None, None, "un dictionnaire YAML est attendu")])
    for level, mapping in content.items():
        if level not in LEVELS:
            problems.append(Problem(str(path), None, level, None,
                                    "niveau inconnu (attendu : " + ", ".join(LEVELS) + ")"))
            continue
        parsed[level] = {}
        for name, value in (mapping or {}).items():
            key = int(name) if level == "axes" and str(name).isdigit() else name
            if key not in known[level]:
                problems.append(Problem(str(path), None, level, str(name), "élément inconnu du catalogue"))
            elif not isinstance(value, (int, float)) or value < 0:
                problems.append(Problem(str(path), None, level, str(value), "poids positif ou nul attendu"))
            else:
                parsed[level][key] = float(value)
    if problems:
        raise ValidationError(problems)
    return Weights(**parsed)
