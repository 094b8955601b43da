"""Build the book: validate the inputs, run the territory template through papermill for each
pilot whose inputs changed (parallel processes), then build the Jupyter Book incrementally and
swap the new site in.

Incremental at both levels:

- a territory chapter records the digest of its inputs (:mod:`observatoire.fingerprints`) and is
  re-executed only when the template, the data file, the catalogue, the reference data or the
  engine's code changes; an unchanged chapter keeps its file, so Sphinx does not re-read it;
- Sphinx keeps its environment in ``_build/.livre`` between builds, so editing one prose
  chapter re-reads that chapter only. The MyST notebooks of the book (comparison, uncertainty,
  data dictionary…) go through jupyter-cache, which only hashes code cells: the whole
  environment and cache are dropped when the data file or the engine's inputs change.

Fast on a clean build: the notebooks to run (chapters and MyST notebooks) share one pool of
processes, their kernels are forked by the kernel server (:mod:`observatoire.build.kernels`) instead of
each starting Python and importing the scientific stack, and jupyter-book imports Sphinx and
its extensions while they run (:class:`WaitingJupyterBook`).

Nothing is lost on bad input: problems are reported before any chapter is written, and the
previous ``_build/html`` stays in place until a complete new build replaces it. A failed
build also drops Sphinx's environment, so that the next build re-reads (and re-checks) every
page instead of publishing the pages that failed.
"""

from __future__ import annotations

from observatoire import paths
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

from observatoire.report.demo import pilots
from observatoire.fingerprints import BookInputs, chapter_fingerprint, engine_files, fingerprint, is_current, record_fingerprint
from observatoire.errors import Problem, ValidationError
from observatoire.build.kernels import SERVER_VARIABLE, execution_options, kernel_server
from observatoire.build.layout import EDITION_VARIABLE, PDF_NAME
from observatoire.engine.reference import TerritoryCodeError, load_reference
from observatoire.text import escape_markdown
from observatoire.engine.validate import ValidatedData, validate_file

ROOT = paths.ROOT
TEMPLATE = paths.TEMPLATE
CHAPTERS = paths.CHAPTERS
DEFAULT_DATA = paths.DEFAULT_DATA
DATA_VARIABLE = paths.DATA_VARIABLE
#: Persistent jupyter-book output of the main book (Sphinx environment and notebook cache).
WORK_NAME = ".livre"
#: Kinds of data of a chapter: the pilots' demonstration data, or a territory's own file.
NATURES = ("demonstration", "territoire")
DATA_LABELS = {"demonstration": "données de démonstration", "territoire": "données du territoire"}


class BuildError(Exception):
    """The book could not be built; the message is French and the previous build is intact."""



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
                                   request_save_on_cell_execute=False,  # written once, when complete
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


def default_workers() -> int:
    """One process more than cores: a worker often waits on its kernel (start, messages), and
    the kernel servers' forks make kernels cheap."""
    return (os.cpu_count() or 1) + 1


def chapter_pool(workers: int) -> ProcessPoolExecutor:
    """Processes that execute notebooks (one kernel each at a time)."""
    # Imported once here, not by every forked worker (the kernel server is preparing meanwhile).
    import jupyter_cache.executors.utils  # noqa: F401
    import myst_nb.core.read  # noqa: F401
    import papermill  # noqa: F401

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


@dataclass
class PendingChapters:
    """Chapters to execute in a pool of processes, then to move into place."""

    chapters: list
    futures: dict
    outputs: dict[str, Path]
    destination: Path
    digests: dict[str, str]
    inputs: BookInputs

    def submit(self, pool: ProcessPoolExecutor, count: int | None = None) -> None:
        """Submit the next ``count`` chapters not yet submitted (all by default)."""
        waiting = [c for c in self.chapters if c.slug not in self.futures]
        for c in waiting[:count]:
            self.futures[c.slug] = pool.submit(execute_chapter, c, str(self.outputs[c.slug]),
                                               self.digests[c.slug], self.inputs)


def submit_chapters(pool: ProcessPoolExecutor, chapters: list, staging: Path,
                    inputs: BookInputs = BookInputs(), destination: Path = CHAPTERS,
                    count: int | None = None) -> PendingChapters:
    """Start executing, in ``pool``, the chapters whose inputs changed (the first ``count`` of
    them only: :meth:`PendingChapters.submit` submits the others)."""
    digests = {c.slug: c.fingerprint(inputs) for c in chapters}
    stale = stale_chapters(chapters, inputs, destination, digests)
    if len(stale) < len(chapters):
        print(f"  {len(chapters) - len(stale)} chapitre(s) territoriaux à jour, non réexécutés", flush=True)
    if stale:
        print(f"  exécution de {len(stale)} chapitre(s) territoriaux…", flush=True)
    pending = PendingChapters(stale, {}, {c.slug: staging / f"{c.slug}.ipynb" for c in stale}, destination,
                              digests, inputs)
    pending.submit(pool, count)
    return pending


def collect_chapters(pending: PendingChapters) -> list:
    """Wait for the submitted chapters and move them into their folder (each file replaced in
    one rename: a reader never sees half a chapter). Returns the chapters executed."""
    for c in pending.chapters:
        try:
            pending.futures[c.slug].result()
        except Exception as exc:  # papermill raises PapermillExecutionError with the traceback
            raise BuildError(f"l'exécution du chapitre de {c.titre} ({c.code}) a échoué :\n{exc}") from exc
        print(f"  chapitre exécuté : {c.titre}", flush=True)
    if pending.chapters:
        pending.destination.mkdir(parents=True, exist_ok=True)
    for c in pending.chapters:
        tmp = pending.destination / f".{c.slug}.ipynb.tmp"
        shutil.copyfile(pending.outputs[c.slug], tmp)
        os.replace(tmp, pending.destination / f"{c.slug}.ipynb")
    return pending.chapters


def refresh_chapters(chapters: list, staging: Path, workers: int | None = None,
                     inputs: BookInputs = BookInputs(), destination: Path = CHAPTERS) -> list[Chapter]:
    """Re-execute the chapters whose inputs changed (in ``workers`` parallel processes) and move
    them into ``destination``; leave the others untouched. Returns the chapters executed."""
    with chapter_pool(max(1, min(len(chapters), workers or default_workers()))) as pool:
        return collect_chapters(submit_chapters(pool, chapters, staging, inputs, destination))


#: jupyter-book's command line as the book runs it (see :mod:`observatoire.build.jupyter_book_runner`).
JUPYTER_BOOK = (sys.executable, "-m", "observatoire.build.jupyter_book_runner")
#: The ``jupyter-book`` program as installed (what the benchmarks' baseline runs).
STOCK_JUPYTER_BOOK = (str(Path(sys.executable).with_name("jupyter-book")),)


def jupyter_book_command(build_root: Path, output_dir: Path, builder: str = "html", toc: Path | None = None,
                         config: Path | None = None, program: tuple[str, ...] = JUPYTER_BOOK) -> list[str]:
    cmd = [*program, "build", str(build_root), "--path-output", str(output_dir),
           "--builder", builder, "-n", "-W", "--keep-going"]
    if toc:
        cmd += ["--toc", str(toc)]
    if config:
        cmd += ["--config", str(config)]
    return cmd


def _jupyter_book_env(env: dict[str, str] | None) -> dict[str, str]:
    environment = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    environment.pop(SERVER_VARIABLE, None)  # Sphinx executes nothing: the notebooks are run
    return environment


def jupyter_book(build_root: Path, output_dir: Path, builder: str = "html", toc: Path | None = None,
                 config: Path | None = None, env: dict[str, str] | None = None,
                 program: tuple[str, ...] = JUPYTER_BOOK) -> subprocess.CompletedProcess:
    return subprocess.run(jupyter_book_command(build_root, output_dir, builder, toc, config, program),
                          capture_output=True, text=True, env=_jupyter_book_env(env))


class WaitingJupyterBook:
    """jupyter-book started ahead of its build: it imports Sphinx and the book's extensions
    (about 1 s) while the notebooks run, then builds when :meth:`build` is called. Leaving the
    ``with`` block without building stops it."""

    def __init__(self, build_root: Path, output_dir: Path, builder: str = "html", toc: Path | None = None,
                 config: Path | None = None, env: dict[str, str] | None = None):
        from observatoire.build.jupyter_book_runner import WAIT_FLAG

        self.command = jupyter_book_command(build_root, output_dir, builder, toc, config)
        program = list(JUPYTER_BOOK)
        self.process = subprocess.Popen([*program, WAIT_FLAG, *self.command[len(program):]], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=_jupyter_book_env(env))
        # Its imports wait for idle time: the kernel server and the kernels come first.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.process.pid, 10)

    def build(self) -> subprocess.CompletedProcess:
        from observatoire.build.jupyter_book_runner import GO

        out, err = self.process.communicate(GO + "\n")
        return subprocess.CompletedProcess(self.command, self.process.returncode, out, err)

    def __enter__(self) -> WaitingJupyterBook:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.returncode is None:  # not asked to build: end of input stops it
            self.process.communicate("")


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


def uncached_notebooks(notebooks: list[Path], cache_path: Path) -> list[Path]:
    """The MyST notebooks that jupyter-cache does not hold yet (for their current code)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    cache = get_cache(str(cache_path))
    missing = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(read_myst_markdown_notebook(path.read_text(encoding="utf-8")))
        except KeyError:
            missing.append(path)
    return missing


def submit_notebooks(pool: ProcessPoolExecutor, notebooks: list[Path], env: dict[str, str]) -> dict:
    """Start executing MyST notebooks in ``pool``.

    myst-nb would execute them one after the other while Sphinx reads the book; executed here
    in parallel with the territory chapters, they are found in the cache instead."""
    if notebooks:
        print(f"  exécution de {len(notebooks)} cahier(s) MyST en parallèle…", flush=True)
    return {path: pool.submit(execute_myst_notebook, str(path), env) for path in notebooks}


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
    workers = workers or default_workers()
    with contextlib.ExitStack() as running:
        pool = staging = None

        def start() -> None:
            nonlocal pool, staging
            running.enter_context(kernel_server())
            pool = running.enter_context(chapter_pool(workers))
            staging = Path(running.enter_context(tempfile.TemporaryDirectory(prefix=".chapitres-", dir=build_dir)))

        # The pool runs the jobs in the order they are submitted. First a chapter per worker:
        # they run while jupyter-cache is consulted, and the notebooks that read the national
        # scores come after them, when the second kernel server has them (noyaux.warm_up).
        # Then the MyST notebooks, the longest ones among them, and the other chapters, which
        # fill the end evenly.
        if stale_chapters(chapters):
            start()
            pending = submit_chapters(pool, chapters, staging, count=workers)
        notebooks = uncached_notebooks(notebooks, cache_path)
        if pool is None:
            if not notebooks:
                print(f"  {len(chapters)} chapitre(s) territoriaux à jour, cahiers MyST en cache : "
                      "rien à exécuter", flush=True)
                return
            start()
            pending = submit_chapters(pool, chapters, staging, count=workers)
        futures = submit_notebooks(pool, notebooks, env)
        pending.submit(pool)
        collect_chapters(pending)
        cache_notebooks(futures, cache_path)


def sphinx_build(work: Path, digest: str, env: dict[str, str], toc: Path | None = None,
                 config: Path | None = None, builder: str = "html", started: WaitingJupyterBook | None = None) -> Path:
    """Run jupyter-book into the persistent folder ``work``; return its output folder.

    ``work`` is reset when ``digest`` (the inputs the notebooks read) changed since the last
    successful build, and its Sphinx environment is dropped when a build fails."""
    prepare_work(work, digest)
    if started:
        assert started.command == jupyter_book_command(ROOT, work, builder, toc, config), "same build"
        result = started.build()
    else:
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
    summary = f"{reread} page(s) relue(s), {executed} cahier(s) exécuté(s) par jupyter-book"
    typography = re.search(r"typographie française : ([^\n]+)", log)  # observatoire.build.typography
    return summary + (f" ; typographie : {typography.group(1).strip()}" if typography else "")


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
    with contextlib.ExitStack() as build, contextlib.ExitStack() as kernels:
        if data_path.is_file() and stale_chapters(chapters):
            kernels.enter_context(kernel_server(data_path))  # it prepares itself while the data are checked
        print("[1/3] Validation des données…", flush=True)
        check_inputs(data_path, [c.code for c in chapters])

        build_dir.mkdir(parents=True, exist_ok=True)
        print("[2/3] Chapitres des territoires pilotes et cahiers du livre…", flush=True)
        work, digest, env = build_dir / WORK_NAME, notebooks_fingerprint(data_path), {DATA_VARIABLE: str(data_path)}
        env[EDITION_VARIABLE] = str((build_dir / "pdf" / PDF_NAME).resolve())  # linked from the home page if built
        sphinx = build.enter_context(WaitingJupyterBook(ROOT, work, env=env))
        execute_everything(chapters, toc_notebooks(), work, digest, env, build_dir, workers)
        kernels.close()

        print("[3/3] Construction du livre (jupyter-book, avertissements = erreurs)…", flush=True)
        html = sphinx_build(work, digest, env=env, started=sphinx)
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
