"""Fingerprints of what a computed page depends on, so that a rebuild redoes only what changed
(one scheme for the book's chapters, its notebook cache and the national site's pages).

jupyter-cache keys a notebook on its code cells alone: a new data file, a corrected catalogue,
a change in the engine or in the reference data would leave a stale page in place. Every
computed page therefore records the SHA-256 of all its inputs, and is redone when that digest
changes — and only then.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from observatoire import paths

METADATA_KEY = "observatoire"
#: The code a computed page runs: the engine, what people see (report), the formatter.
COMPUTATION_CODE = (paths.PACKAGE / "engine", paths.PACKAGE / "report", paths.PACKAGE / "text.py",
                    paths.PACKAGE / "paths.py", paths.PACKAGE / "errors.py")


@dataclass(frozen=True)
class BookInputs:
    """The files a computed page of the book reads, besides its own parameters."""

    template: Path = paths.TEMPLATE
    catalogue: Path = paths.CATALOGUE
    reference: Path = paths.REFERENCE
    code: tuple[Path, ...] = COMPUTATION_CODE
    extra: tuple[Path, ...] = field(default=(paths.PILOTS_FILE, paths.DATA / "demo" / "territoires-fictifs.csv"))


def _ignored(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix in {".pyc", ".swp"} or path.name.startswith(".#")


def digest_path(path: str | os.PathLike, patterns: tuple[str, ...] = ("*",)) -> str:
    """SHA-256 of a file, or of every file under a folder matching ``patterns`` (relative names
    and contents, sorted). Python caches and editor leftovers are ignored: they are not inputs."""
    h = hashlib.sha256()
    path = Path(path)
    if path.is_file():
        h.update(path.read_bytes())
        return h.hexdigest()
    if not path.exists():
        return "absent"
    files = sorted({f for pattern in patterns for f in path.rglob(pattern) if f.is_file() and not _ignored(f)})
    for f in files:
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def digest_object(obj) -> str:
    """SHA-256 of a JSON-able object (keys sorted)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def fingerprint(parameters: dict, files: dict[str, Path]) -> str:
    """One digest of named parameters and named input files or folders."""
    return digest_object({"parametres": parameters, "fichiers": {k: digest_path(v) for k, v in sorted(files.items())}})


@functools.lru_cache(maxsize=4)
def code_digest(code: tuple[Path, ...] = COMPUTATION_CODE) -> str:
    """Digest of the code computed pages run (once per process: a run imports its code once)."""
    return digest_object({p.name: digest_path(p, ("*.py", "*.html", "*.css", "*.j2")) for p in code})


def engine_files(inputs: BookInputs = BookInputs()) -> dict[str, Path]:
    """The inputs shared by every computed page: catalogue, reference data, code, extra files."""
    files = {"catalogue": inputs.catalogue, "reference": inputs.reference}
    files.update({f"code:{p.name}": p for p in inputs.code})
    files.update({f"autre:{p.name}": p for p in inputs.extra})
    return files


def chapter_fingerprint(parameters: dict[str, str], data_path: Path, inputs: BookInputs = BookInputs()) -> str:
    """Digest of a territory chapter's inputs: its parameters (code, title, kind of data), the
    template notebook, the data file, and the shared inputs."""
    files = {"gabarit": inputs.template, "donnees": Path(data_path), **engine_files(inputs)}
    return fingerprint(parameters, files)


def stored_fingerprint(notebook: Path) -> str | None:
    """The digest recorded in an executed notebook, or None if there is none (or no notebook)."""
    try:
        with open(notebook, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, ValueError):
        return None
    return nb.get("metadata", {}).get(METADATA_KEY, {}).get("empreinte")


def record_fingerprint(nb: dict, digest: str) -> None:
    """Record ``digest`` in a notebook's metadata (a notebook node or its JSON dict)."""
    nb["metadata"].setdefault(METADATA_KEY, {})["empreinte"] = digest


def is_current(notebook: Path, digest: str) -> bool:
    return os.path.exists(notebook) and stored_fingerprint(notebook) == digest
