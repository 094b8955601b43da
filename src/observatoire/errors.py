"""Problems found in user input, reported all at once and in French."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file, located as precisely as the input allows.

    ``line`` is the line of the file as a person sees it in an editor or spreadsheet
    (the header is line 1). ``column`` is the column name from the header.
    """

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = "erreur"  # "erreur" blocks the run, "avertissement" does not

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", ligne {self.line}"
        if self.column:
            where += f", colonne « {self.column} »"
        value = "" if self.value is None else f" : valeur « {self.value} »"
        return f"{where}{value} — {self.message}"


class ValidationError(Exception):
    """Raised with the complete list of blocking problems of an input."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=_sort_key)
        super().__init__(format_problems(self.problems))


def _sort_key(p: Problem):
    return (p.file, p.line if p.line is not None else -1, p.column or "", p.message)


def format_problems(problems: list[Problem]) -> str:
    errors = [p for p in problems if p.severity == "erreur"]
    warnings = [p for p in problems if p.severity != "erreur"]
    lines = []
    if errors:
        n = len(errors)
        lines.append(f"{n} erreur{'s' if n > 1 else ''} trouvée{'s' if n > 1 else ''} :")
        lines += [f"  - {p}" for p in errors]
    if warnings:
        n = len(warnings)
        lines.append(f"{n} avertissement{'s' if n > 1 else ''} :")
        lines += [f"  - {p}" for p in warnings]
    return "\n".join(lines)
