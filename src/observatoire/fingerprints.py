"""Fingerprints of what a computed page depends on, so that a rebuild re-executes only what changed.

jupyter-cache keys a notebook on its code cells alone: a new data file, a corrected catalogue,
a change in the engine or in the reference data would leave a stale page in place. Every
executed page therefore records the SHA-256 of all its inputs, and is re-executed when that
digest changes — and only then.
"""

from __future__ import annotations

from observatoire import paths
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = paths.ROOT
METADATA_KEY = "observatoire"


@dataclass(frozen=True)
class BookInputs:
    """The files a computed page of the book reads, besides its own parameters."""

    template: Path = ROOT / "notebooks" / "territoire.ipynb"
    catalogue: Path = ROOT / "data" / "catalogue"
    reference: Path = ROOT / "data" / "reference"
    engine: Path = ROOT / "src" / "observatoire"
    extra: tuple[Path, ...] = field(default=(ROOT / "data" / "pilotes" / "territoires.yml",))


def digest_path(path: Path) -> str:
    """SHA-256 of a file, or of every file under a folder (relative names and contents, sorted).
    Python caches and editor leftovers are ignored: they are not inputs."""
    h = hashlib.sha256()
    path = Path(path)
    if path.is_file():
        h.update(path.read_bytes())
        return h.hexdigest()
    if not path.exists():
        return "absent"
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if "__pycache__" in f.parts or f.suffix in {".pyc", ".swp"} or f.name.startswith(".#"):
            continue
        h.update(rel.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def fingerprint(parameters: dict[str, str], files: dict[str, Path]) -> str:
    """One digest of named parameters and named input files or folders."""
    record = {"parametres": parameters, "fichiers": {k: digest_path(v) for k, v in sorted(files.items())}}
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def engine_files(inputs: BookInputs = BookInputs()) -> dict[str, Path]:
    """The inputs shared by every computed page: catalogue, reference data, engine code."""
    files = {"catalogue": inputs.catalogue, "reference": inputs.reference, "moteur": inputs.engine}
    files.update({f"autre:{p.name}": p for p in inputs.extra})
    return files


def chapter_fingerprint(parameters: dict[str, str], data_path: Path,
                        inputs: BookInputs = BookInputs()) -> str:
    """Digest of a territory chapter's inputs: its parameters (code, title, kind of data), the
    template notebook, the data file, and the engine's shared inputs."""
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


def record_fingerprint(nb: nbformat.NotebookNode, digest: str) -> None:
    nb.metadata.setdefault(METADATA_KEY, {})["empreinte"] = digest


def is_current(notebook: Path, digest: str) -> bool:
    return os.path.exists(notebook) and stored_fingerprint(notebook) == digest
