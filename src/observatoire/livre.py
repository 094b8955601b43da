"""Build the book: validate the inputs, run the territory template through papermill once per
pilot (parallel processes), then build the Jupyter Book into a temporary folder and swap it in.

Nothing is lost on bad input: problems are reported before any chapter is written, and the
previous ``_build/html`` stays in place until a complete new build replaces it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from observatoire.demo import Pilot, pilots
from observatoire.errors import Problem, ValidationError
from observatoire.reference import TerritoryCodeError, load_reference
from observatoire.texte import escape_markdown
from observatoire.validate import validate_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "notebooks" / "territoire.ipynb"
CHAPTERS = ROOT / "book" / "territoires"
DEFAULT_DATA = ROOT / "data" / "pilotes" / "pilotes.csv"


class BuildError(Exception):
    """The book could not be built; the message is French and the previous build is intact."""


def check_inputs(data_path: Path, territories: list[Pilot]) -> None:
    """Validate the data file and that every territory exists and has data; raise all problems."""
    reference = load_reference()
    data = validate_file(data_path, reference=reference)
    present = set(data.values["territoire"])
    problems = []
    for p in territories:
        try:
            t = reference.territory(p.code)
        except TerritoryCodeError as exc:
            problems.append(Problem(str(data_path), None, "territoire", p.code, str(exc)))
            continue
        if t.code not in present:
            problems.append(Problem(str(data_path), None, "territoire", p.code,
                                    f"aucune valeur pour {t.nom} dans ce fichier"))
    if problems:
        raise ValidationError(problems)


def execute_chapter(pilot: Pilot, data_path: str, output: str) -> str:
    """Run the template for one territory (in its own process: one kernel each)."""
    import papermill

    papermill.execute_notebook(
        str(TEMPLATE), output,
        # Codes and paths as str: papermill's CLI would turn 01004 into 1004 (see ARCHITECTURE).
        parameters={"code": str(pilot.code), "donnees": str(data_path)},
        kernel_name="python3", cwd=str(ROOT), progress_bar=False, log_output=False,
    )
    finish_chapter(Path(output), pilot.titre)
    return output


def finish_chapter(path: Path, title: str) -> None:
    """Give the executed chapter its territory's name as title (escaped: it may be user text)
    and hide papermill's injected parameters (they hold local paths, not content)."""
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "template title cell"
    first.source = "# " + escape_markdown(title)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, path)


def execute_chapters(territories: list[Pilot], data_path: Path, staging: Path, workers: int) -> list[Path]:
    outputs = [staging / f"{p.slug}.ipynb" for p in territories]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(execute_chapter, p, str(data_path), str(o)) for p, o in zip(territories, outputs)]
        for p, f in zip(territories, futures):
            try:
                f.result()
            except Exception as exc:  # papermill raises PapermillExecutionError with the traceback
                raise BuildError(f"l'exécution du chapitre de {p.titre} ({p.code}) a échoué :\n{exc}") from exc
            print(f"  chapitre exécuté : {p.titre}", flush=True)
    return outputs


def jupyter_book(build_root: Path, output_dir: Path, builder: str = "html") -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(build_root), "--path-output", str(output_dir),
           "--builder", builder, "-n", "-W", "--keep-going"]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})


def build_problems(log: str, limit: int = 40) -> str:
    """The warnings and errors of a Sphinx log (colour codes removed), else its last lines."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.strip().splitlines()]
    problems = [line for line in lines if "WARNING" in line or "ERROR" in line or "Exception" in line]
    problems = [line for line in problems if "IPKernelApp" not in line]
    return "\n".join((problems or lines)[-limit:])


def build_book(data_path: str | os.PathLike = DEFAULT_DATA, build_dir: str | os.PathLike = ROOT / "_build",
               workers: int | None = None) -> Path:
    """Build the whole book; return the path of the new ``index.html``."""
    started = time.perf_counter()
    data_path = Path(data_path).resolve() if Path(data_path).exists() else Path(data_path)
    build_dir = Path(build_dir)
    territories = list(pilots())
    print("Validation des données…", flush=True)
    check_inputs(data_path, territories)

    build_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".construction-", dir=build_dir))
    try:
        staging = work / "chapitres"
        staging.mkdir()
        workers = workers or min(len(territories), os.cpu_count() or 1)
        print(f"Exécution des {len(territories)} chapitres territoriaux ({workers} processus)…", flush=True)
        outputs = execute_chapters(territories, data_path, staging, workers)
        CHAPTERS.mkdir(parents=True, exist_ok=True)
        for o in outputs:
            shutil.copyfile(o, CHAPTERS / o.name)

        print("Construction du livre (jupyter-book, avertissements = erreurs)…", flush=True)
        result = jupyter_book(ROOT, work)
        new_html = work / "_build" / "html"
        if result.returncode != 0 or not (new_html / "index.html").exists():
            raise BuildError("la construction du livre a échoué ; le livre précédent est conservé.\n"
                             + build_problems(result.stdout + result.stderr))
        _swap(new_html, build_dir / "html")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    index = (build_dir / "html" / "index.html").resolve()
    print(f"Livre construit en {time.perf_counter() - started:.0f} s : {index}", flush=True)
    return index


def _swap(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with two renames on the same file system."""
    old = target.with_name(target.name + ".ancien")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
