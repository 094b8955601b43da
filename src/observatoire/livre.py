"""Build the book: validate the inputs, run the territory template through papermill for each
pilot whose inputs changed (parallel processes), then build the Jupyter Book incrementally and
swap the new site in.

Incremental at both levels:

- a territory chapter records the digest of its inputs (:mod:`observatoire.empreintes`) and is
  re-executed only when the template, the data file, the catalogue, the reference data or the
  engine's code changes; an unchanged chapter keeps its file, so Sphinx does not re-read it;
- Sphinx keeps its environment in ``_build/.livre`` between builds, so editing one prose
  chapter re-reads that chapter only. The MyST notebooks of the book (comparison, uncertainty,
  data dictionary…) go through jupyter-cache, which only hashes code cells: the whole
  environment and cache are dropped when the data file or the engine's inputs change.

Nothing is lost on bad input: problems are reported before any chapter is written, and the
previous ``_build/html`` stays in place until a complete new build replaces it. A failed
build also drops Sphinx's environment, so that the next build re-reads (and re-checks) every
page instead of publishing the pages that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat

from observatoire.demo import pilots
from observatoire.empreintes import BookInputs, chapter_fingerprint, engine_files, fingerprint, is_current, record_fingerprint
from observatoire.errors import Problem, ValidationError
from observatoire.noyaux import execution_options, kernel_server
from observatoire.reference import TerritoryCodeError, load_reference
from observatoire.texte import escape_markdown
from observatoire.validate import ValidatedData, validate_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "notebooks" / "territoire.ipynb"
CHAPTERS = ROOT / "book" / "territoires"
DEFAULT_DATA = ROOT / "data" / "pilotes" / "pilotes.csv"
#: Environment variable through which the book's MyST notebooks learn which data file to read.
DATA_VARIABLE = "OBSERVATOIRE_DONNEES"
#: Persistent jupyter-book output of the main book (Sphinx environment and notebook cache).
WORK_NAME = ".livre"
#: Kinds of data of a chapter: the pilots' demonstration data, or a territory's own file.
NATURES = ("demonstration", "territoire")
DATA_LABELS = {"demonstration": "données de démonstration", "territoire": "données du territoire"}


class BuildError(Exception):
    """The book could not be built; the message is French and the previous build is intact."""


def book_data() -> Path:
    """The data file the book is built on (what the MyST notebooks of the book read)."""
    return Path(os.environ.get(DATA_VARIABLE) or DEFAULT_DATA)


@dataclass(frozen=True)
class Chapter:
    """One territory chapter: the template run for one territory on one data file."""

    code: str
    slug: str
    titre: str
    data_path: Path
    nature: str = "demonstration"

    def parameters(self) -> dict[str, str]:
        # Codes and paths as str: papermill's CLI would turn 01004 into 1004 (see ARCHITECTURE).
        return {"code": str(self.code), "donnees": str(self.data_path), "nature": self.nature}

    def fingerprint(self, inputs: BookInputs = BookInputs()) -> str:
        return chapter_fingerprint({"code": self.code, "titre": self.titre, "nature": self.nature},
                                   self.data_path, inputs)

    def execute(self, output: str, digest: str, inputs: BookInputs) -> None:
        """Run the template for this territory (in its own process: one kernel each)."""
        import papermill

        papermill.execute_notebook(str(inputs.template), output, parameters=self.parameters(),
                                   kernel_name="python3", cwd=str(ROOT), progress_bar=False, log_output=False,
                                   **execution_options())
        finish_chapter(Path(output), self.titre, self.nature, digest)


def pilot_chapters(data_path: Path) -> list[Chapter]:
    return [Chapter(p.code, p.slug, p.titre, Path(data_path)) for p in pilots()]


def check_inputs(data_path: Path, codes: list[str]) -> ValidatedData:
    """Validate the data file and that every territory exists and has data; raise all problems."""
    reference = load_reference()
    data = validate_file(data_path, reference=reference)
    present = set(data.values["territoire"])
    problems = []
    for code in codes:
        try:
            t = reference.territory(code)
        except TerritoryCodeError as exc:
            problems.append(Problem(str(data_path), None, "territoire", code, str(exc)))
            continue
        if t.code not in present:
            problems.append(Problem(str(data_path), None, "territoire", code,
                                    f"aucune valeur pour {t.nom} dans ce fichier"))
    if problems:
        raise ValidationError(problems)
    return data


def _start_worker() -> None:
    """Worker start-up.

    - The kernels a worker starts inherit its standard error, where ipykernel warns about TCP
      transport on every start. Execution errors are not lost: they come back to the parent as
      exceptions, with the notebook's traceback.
    - A worker is forked: if the parent had run nbclient itself (tests do), jupyter_core would
      hand the worker the parent's event loop, whose epoll instance the two processes would
      then share. The worker makes its own.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    from jupyter_core.utils import _loop  # where run_sync keeps the loop of the thread

    _loop.set(None)
    asyncio.set_event_loop(None)


def chapter_pool(workers: int) -> ProcessPoolExecutor:
    """Processes that execute notebooks (one kernel each at a time)."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_start_worker)


def execute_chapter(chapter, output: str, digest: str, inputs: BookInputs) -> str:
    """Execute one chapter job (a :class:`Chapter` or any object with the same ``execute``)."""
    chapter.execute(output, digest, inputs)
    return output


def finish_chapter(path: Path, title: str, nature: str = "demonstration", digest: str | None = None) -> None:
    """Give the executed chapter its territory's name as title (escaped: it may be user text),
    keep the data notice that fits the kind of data, hide papermill's injected parameters (they
    hold local paths, not content) and record the digest of the chapter's inputs."""
    if nature not in NATURES:
        raise ValueError(f"nature de données inconnue : {nature!r} (attendu : {', '.join(NATURES)})")
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "template title cell"
    first.source = "# " + escape_markdown(title)
    other_notices = {f"avis-{n}" for n in NATURES if n != nature}
    nb.cells = [c for c in nb.cells if not other_notices & set(c.metadata.get("tags", []))]
    for cell in nb.cells:  # the template's figure captions are written for the pilots
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if "caption" in figure:
            figure["caption"] = figure["caption"].replace(DATA_LABELS["demonstration"], DATA_LABELS[nature])
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    if digest:
        record_fingerprint(nb, digest)
    nbformat.write(nb, path)


def stale_chapters(chapters: list, inputs: BookInputs = BookInputs(), destination: Path = CHAPTERS,
                   digests: dict[str, str] | None = None) -> list:
    """The chapters whose executed notebook is missing or was made from other inputs."""
    digests = digests or {c.slug: c.fingerprint(inputs) for c in chapters}
    return [c for c in chapters if not is_current(destination / f"{c.slug}.ipynb", digests[c.slug])]


def refresh_chapters(chapters: list, staging: Path, workers: int | None = None,
                     inputs: BookInputs = BookInputs(), destination: Path = CHAPTERS,
                     pool: ProcessPoolExecutor | None = None) -> list[Chapter]:
    """Re-execute the chapters whose inputs changed (in parallel processes) and move them into
    ``destination``; leave the others untouched. Returns the chapters that were executed."""
    digests = {c.slug: c.fingerprint(inputs) for c in chapters}
    stale = stale_chapters(chapters, inputs, destination, digests)
    if len(stale) < len(chapters):
        print(f"  {len(chapters) - len(stale)} chapitre(s) territoriaux à jour, non réexécutés", flush=True)
    if not stale:
        return []
    workers = max(1, min(len(stale), workers or os.cpu_count() or 1))
    print(f"  exécution de {len(stale)} chapitre(s) territoriaux"
          + ("" if pool else f" ({workers} processus)") + "…", flush=True)
    outputs = {c.slug: staging / f"{c.slug}.ipynb" for c in stale}
    with contextlib.nullcontext(pool) if pool else chapter_pool(workers) as pool:
        futures = {c.slug: pool.submit(execute_chapter, c, str(outputs[c.slug]), digests[c.slug], inputs)
                   for c in stale}
        for c in stale:
            try:
                futures[c.slug].result()
            except Exception as exc:  # papermill raises PapermillExecutionError with the traceback
                raise BuildError(f"l'exécution du chapitre de {c.titre} ({c.code}) a échoué :\n{exc}") from exc
            print(f"  chapitre exécuté : {c.titre}", flush=True)
    destination.mkdir(parents=True, exist_ok=True)
    for c in stale:  # each file replaced in one rename: a reader never sees half a chapter
        tmp = destination / f".{c.slug}.ipynb.tmp"
        shutil.copyfile(outputs[c.slug], tmp)
        os.replace(tmp, destination / f"{c.slug}.ipynb")
    return stale


#: jupyter-book's command line as the book runs it (see :mod:`observatoire.jupyter_book_cli`).
JUPYTER_BOOK = (sys.executable, "-m", "observatoire.jupyter_book_cli")
#: The ``jupyter-book`` program as installed (what the benchmarks' baseline runs).
STOCK_JUPYTER_BOOK = (str(Path(sys.executable).with_name("jupyter-book")),)


def jupyter_book(build_root: Path, output_dir: Path, builder: str = "html", toc: Path | None = None,
                 config: Path | None = None, env: dict[str, str] | None = None,
                 program: tuple[str, ...] = JUPYTER_BOOK) -> subprocess.CompletedProcess:
    cmd = [*program, "build", str(build_root), "--path-output", str(output_dir),
           "--builder", builder, "-n", "-W", "--keep-going"]
    if toc:
        cmd += ["--toc", str(toc)]
    if config:
        cmd += ["--config", str(config)]
    return subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})})


def build_problems(log: str, limit: int = 40) -> str:
    """The warnings and errors of a Sphinx log (colour codes removed), else its last lines."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.strip().splitlines()]
    problems = [line for line in lines if "WARNING" in line or "ERROR" in line or "Exception" in line]
    problems = [line for line in problems if "IPKernelApp" not in line]
    return "\n".join((problems or lines)[-limit:])


def notebooks_fingerprint(data_path: Path, inputs: BookInputs = BookInputs()) -> str:
    """Digest of what the book's MyST notebooks read besides their code: data and engine."""
    return fingerprint({}, {"donnees": Path(data_path), **engine_files(inputs)})


STAMP_NAME = "empreinte-cahiers.txt"


def prepare_work(work: Path, digest: str) -> None:
    """Reset jupyter-book's persistent folder when the inputs of its notebooks changed."""
    stamp = work / STAMP_NAME
    if work.exists() and (not stamp.exists() or stamp.read_text() != digest):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)  # what the folder's cache and environment were computed from


def notebook_cache(work: Path) -> Path:
    """Where myst-nb keeps its jupyter-cache for a build into ``work`` (its default place)."""
    return work / "_build" / ".jupyter_cache"


def toc_notebooks(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """The MyST text notebooks (pages with code cells) named in a table of contents."""
    import yaml

    def files(node):
        for key in ("root", "file"):
            if key in node:
                yield node[key]
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []):
                yield from files(child)

    pages = [ROOT / f"{f}.md" for f in files(yaml.safe_load(toc.read_text(encoding="utf-8")))]
    return [p for p in pages if p.exists() and "{code-cell}" in p.read_text(encoding="utf-8")]


def execute_myst_notebook(path: str, env: dict[str, str], timeout: int = 300) -> tuple[str, float]:
    """Execute a MyST text notebook as myst-nb would (same reader, same working directory);
    return the executed notebook as JSON, for the parent process to put in jupyter-cache."""
    from jupyter_cache.executors.utils import single_nb_execution
    from myst_nb.core.read import read_myst_markdown_notebook

    os.environ.update(env)  # the kernel inherits it (the book's data file)
    nb = read_myst_markdown_notebook(Path(path).read_text(encoding="utf-8"), add_source_map=True, path=path)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=False,
                                 **execution_options())
    if result.err is not None:
        raise BuildError(f"l'exécution de {Path(path).relative_to(ROOT)} a échoué :\n{result.exc_string}")
    return nbformat.writes(nb), result.time


def submit_notebooks(pool: ProcessPoolExecutor, notebooks: list[Path], cache_path: Path,
                     env: dict[str, str]) -> dict:
    """Start executing, in ``pool``, the MyST notebooks that jupyter-cache does not hold yet.

    myst-nb would execute them one after the other while Sphinx reads the book; executed here
    in parallel with the territory chapters, they are found in the cache instead."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    cache = get_cache(str(cache_path))
    futures = {}
    for path in notebooks:
        nb = read_myst_markdown_notebook(path.read_text(encoding="utf-8"))
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            futures[path] = pool.submit(execute_myst_notebook, str(path), env)
    if futures:
        print(f"  exécution de {len(futures)} cahier(s) MyST en parallèle…", flush=True)
    return futures


def cache_notebooks(futures: dict, cache_path: Path) -> None:
    """Store the executed notebooks in jupyter-cache (one writer: the parent process)."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path))
    for path, future in futures.items():
        text, seconds = future.result()
        cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(text, as_version=4), str(path),
                                                  data={"execution_seconds": seconds}),
                                    check_validity=False, overwrite=True)
        print(f"  cahier exécuté : {path.relative_to(ROOT)}", flush=True)


def execute_everything(chapters: list, notebooks: list[Path], work: Path, digest: str,
                       env: dict[str, str], build_dir: Path, workers: int | None = None,
                       cache_path: Path | None = None) -> None:
    """Territory chapters (papermill) and MyST notebooks (into jupyter-cache), all in one pool
    of processes, before Sphinx reads the book."""
    prepare_work(work, digest)
    cache_path = cache_path or notebook_cache(work)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with kernel_server(), chapter_pool(workers or os.cpu_count() or 1) as pool, \
            tempfile.TemporaryDirectory(prefix=".chapitres-", dir=build_dir) as staging:
        futures = submit_notebooks(pool, notebooks, cache_path, env)
        refresh_chapters(chapters, Path(staging), workers, pool=pool)
        cache_notebooks(futures, cache_path)


def sphinx_build(work: Path, digest: str, env: dict[str, str], toc: Path | None = None,
                 config: Path | None = None, builder: str = "html") -> Path:
    """Run jupyter-book into the persistent folder ``work``; return its output folder.

    ``work`` is reset when ``digest`` (the inputs the notebooks read) changed since the last
    successful build, and its Sphinx environment is dropped when a build fails."""
    prepare_work(work, digest)
    result = jupyter_book(ROOT, work, builder=builder, toc=toc, config=config, env=env)
    out = work / "_build" / builder
    if result.returncode != 0 or not (out / "index.html").exists():
        shutil.rmtree(work / "_build" / ".doctrees", ignore_errors=True)
        raise BuildError("la construction du livre a échoué ; le livre précédent est conservé.\n"
                         + build_problems(result.stdout + result.stderr))
    print("      " + build_summary(result.stdout), flush=True)
    return out


def build_summary(log: str) -> str:
    """What Sphinx re-read and which notebooks it executed, from its log."""
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    m = re.search(r"updating environment: (?:\[[^\]]*\] )?(\d+) added, (\d+) changed, (\d+) removed", log)
    reread = int(m.group(1)) + int(m.group(2)) if m else 0
    executed = len(re.findall(r"Executed notebook in", log))
    return f"{reread} page(s) relue(s), {executed} cahier(s) exécuté(s) par jupyter-book"


def publish(new_site: Path, target: Path) -> None:
    """Copy a built site next to ``target`` and swap it in: readers never see half a site."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".construction-", dir=target.parent))
    try:
        shutil.copytree(new_site, staging / "site")
        swap_in(staging / "site", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build_book(data_path: str | os.PathLike = DEFAULT_DATA, build_dir: str | os.PathLike = ROOT / "_build",
               workers: int | None = None) -> Path:
    """Build the whole book; return the path of the new ``index.html``."""
    started = time.perf_counter()
    data_path = Path(data_path).resolve() if Path(data_path).exists() else Path(data_path)
    build_dir = Path(build_dir)
    chapters = pilot_chapters(data_path)
    with kernel_server():  # it prepares itself while the data are checked
        print("[1/3] Validation des données…", flush=True)
        check_inputs(data_path, [c.code for c in chapters])

        build_dir.mkdir(parents=True, exist_ok=True)
        print("[2/3] Chapitres des territoires pilotes et cahiers du livre…", flush=True)
        work, digest, env = build_dir / WORK_NAME, notebooks_fingerprint(data_path), {DATA_VARIABLE: str(data_path)}
        execute_everything(chapters, toc_notebooks(), work, digest, env, build_dir, workers)

    print("[3/3] Construction du livre (jupyter-book, avertissements = erreurs)…", flush=True)
    html = sphinx_build(work, digest, env=env)
    publish(html, build_dir / "html")
    index = (build_dir / "html" / "index.html").resolve()
    print(f"Livre construit en {time.perf_counter() - started:.0f} s : {index}", flush=True)
    return index


def swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with two renames on the same file system."""
    old = target.with_name(target.name + ".ancien")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
