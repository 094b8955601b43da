"""The one build pipeline of the book: validate → execute what is stale → Sphinx → swap in.

The HTML book (:mod:`~observatoire.build.book`), the PDF edition (:mod:`~observatoire.build.pdf`,
Sphinx's ``singlehtml`` builder) and a territory's own book
(:mod:`~observatoire.build.territory_book`) each describe a :class:`Build` and call
:func:`run`; nothing else builds a book.

Incremental at every level:

- a territory chapter (the papermill template run for one territory) records the digest of
  its inputs (:mod:`observatoire.fingerprints`) and is re-executed only when it changes;
- the book's MyST notebooks go through ONE jupyter-cache, shared by the HTML book, the PDF and
  the territory books, and kept per digest of what the notebooks read besides their code (data
  file, catalogue, reference, engine code: jupyter-cache only hashes code cells): after
  ``make book``, ``make pdf`` and ``make publish`` execute no notebook again;
- Sphinx keeps its environment in each build's ``work`` folder, dropped when that digest
  changes or after a failed build (so warnings are never hidden).

Fast on a clean build: work shared by several notebooks is computed once here and written to
files they read (:mod:`observatoire.report.results`); the notebooks to run share one pool of
processes whose kernels are forked by the kernel server (:mod:`~observatoire.kernels`);
jupyter-book imports Sphinx and its extensions while they run (:class:`WaitingJupyterBook`).

Nothing is lost on bad input: problems are reported before any chapter is written, and the
previous site stays in place until a complete new build replaces it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from observatoire import kernels, paths
from observatoire.build.jobs import JobError, execute_chapter, execute_myst_notebook
from observatoire.build.preload import PRELOAD
from observatoire.build.toc import toc_notebooks
from observatoire.files import copy_in, replace_with, write_atomic
from observatoire.fingerprints import (
    BookInputs,
    digest_object,
    engine_files,
    fingerprint,
    is_current,
)

#: Notebook caches kept (one per digest of the notebooks' inputs), most recent first.
CACHES_KEPT = 4
STAMP_NAME = "empreinte-cahiers.txt"


class BuildError(Exception):
    """The book could not be built; the message is French and the previous build is intact."""


@dataclass
class Build:
    """What to build. ``chapters``: papermill jobs (objects with ``slug``, ``titre``, ``code``,
    ``fingerprint(inputs)`` and ``execute(output, digest, inputs)``); ``check``: the validation,
    run before anything is written (it raises :class:`~observatoire.errors.ValidationError`);
    ``pages``: notebooks written into the book's source before Sphinx runs (a territory book's
    home page); ``target``: where the built site is swapped in (None: the output folder is
    returned as it is)."""

    data_path: Path
    work: Path
    chapters: list = field(default_factory=list)
    builder: str = "html"
    toc: Path = paths.TOC
    config: dict = field(default_factory=dict)
    check: Callable[[], object] | None = None
    pages: Callable[[], dict[Path, object]] | None = None
    target: Path | None = None
    destination: Path = paths.CHAPTERS
    build_dir: Path = paths.BUILD
    inputs: BookInputs = field(default_factory=BookInputs)
    #: Environment variables of the build (e.g. the PDF edition the HTML site links to).
    environment: dict[str, str] = field(default_factory=dict)


# -- digests and the shared notebook cache ---------------------------------------------------

def notebooks_fingerprint(data_path: Path, inputs: BookInputs = BookInputs()) -> str:
    """Digest of what the book's MyST notebooks read besides their code: data and engine."""
    return fingerprint({}, {"donnees": Path(data_path), **engine_files(inputs)})


def notebook_cache(build_dir: Path, digest: str) -> Path:
    """The jupyter-cache of the notebooks executed on inputs ``digest`` (shared by all builds)."""
    return Path(build_dir) / ".cache" / "cahiers" / digest[:20]


def _forget_old_caches(current: Path) -> None:
    caches = sorted((p for p in current.parent.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime,
                    reverse=True)
    for old in caches[CACHES_KEPT:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def prepare_work(work: Path, digest: str) -> None:
    """Reset a build's persistent folder (its Sphinx environment) when the inputs of its
    notebooks changed: Sphinx would not re-read a page whose source did not change."""
    stamp = work / STAMP_NAME
    if work.exists() and (not stamp.exists() or stamp.read_text() != digest):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def build_config(build: Build, cache: Path, folder: Path) -> Path:
    """The book's ``_config.yml`` with this build's settings (notebook cache, title…), written
    in ``folder``."""
    config = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8"))
    for key, value in build.config.items():
        config[key] = value
    config.setdefault("execute", {})["cache"] = str(cache)
    path = Path(folder) / "_config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# -- the pool of processes that execute notebooks -----------------------------------------------

def _start_worker(environment: dict[str, str]) -> None:
    """Worker start-up: the build's environment (kernel server, provisioner), and ipykernel's
    TCP warning kept out of the terminal (execution errors come back as exceptions, with the
    notebook's traceback)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # see observatoire.build.jupyter_book_runner
    os.environ.update(environment)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


#: Modules every worker needs, imported once by the forkserver that forks them.
WORKER_PRELOAD = ["papermill", "jupyter_cache.executors.utils", "myst_nb.core.read", "observatoire.build.jobs"]


def worker_context() -> multiprocessing.context.BaseContext:
    """Workers are started by a forkserver (Linux) or spawned: never forked from the build's own
    process, whose threads and event loops a fork would copy."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(WORKER_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def default_workers() -> int:
    """One process more than cores: a worker often waits on its kernel (start, messages), and
    the kernel server's forks make kernels cheap."""
    return (os.cpu_count() or 1) + 1


def notebook_pool(workers: int) -> ProcessPoolExecutor:
    """Processes that execute notebooks (one kernel each at a time)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=worker_context(), initializer=_start_worker,
                               initargs=({**kernels.provisioner_environment(), **_results_environment()},))


def _results_environment() -> dict[str, str]:
    from observatoire.report import results

    return results.environment()


def stale_chapters(chapters: list, inputs: BookInputs, destination: Path) -> list:
    """The chapters whose executed notebook is missing or was made from other inputs."""
    return [c for c in chapters if not is_current(destination / f"{c.slug}.ipynb", c.fingerprint(inputs))]


#: In a notebook cache's folder: the digest of the MyST notebooks (and of the cache's database)
#: the last time jupyter-cache held every one of them.
ALL_CACHED = "tous-en-cache.txt"


def uncached_notebooks(notebooks: list[Path], cache_path: Path) -> list[Path]:
    """The MyST notebooks that jupyter-cache does not hold yet (for their current code).

    Asking jupyter-cache costs about a second (SQLAlchemy's import, every notebook parsed and
    validated): when the notebooks' texts and the cache's database are those of the last time
    it held them all, the answer is the same, read from :data:`ALL_CACHED`."""
    database = cache_path / "global.db"
    texts = {str(p): p.read_text(encoding="utf-8") for p in notebooks}
    digest = digest_object({"cahiers": texts, "base": database.stat().st_mtime_ns if database.exists() else None})
    stamp = cache_path / ALL_CACHED
    if stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return []
    from jupyter_cache import get_cache
    from myst_nb.core.read import read_myst_markdown_notebook

    cache = get_cache(str(cache_path))
    missing = []
    for path in notebooks:
        try:
            cache.match_cache_notebook(read_myst_markdown_notebook(texts[str(path)]))
        except KeyError:
            missing.append(path)
    if not missing and cache_path.is_dir():
        write_atomic(stamp, digest)
    return missing


def _failure(what: str, exc: BaseException) -> BuildError:
    message = f"l'exécution {what} a échoué :\n{exc}"
    server = os.environ.get(kernels.SERVER_VARIABLE)
    crashed = kernels.crashed_kernels(server) if server else {}
    if crashed:
        message += "\n" + "\n".join(f"  noyau {pid} arrêté avec le statut {code}" + (f" : {said}" if said else "")
                                     for pid, (code, said) in sorted(crashed.items()))
    return BuildError(message)


def execute_everything(chapters: list, notebooks: list[Path], cache_path: Path, env: dict[str, str],
                       staging_dir: Path, inputs: BookInputs = BookInputs(), destination: Path = paths.CHAPTERS,
                       workers: int | None = None) -> list:
    """Territory chapters (papermill, into ``destination``) and MyST notebooks (into
    jupyter-cache), all in one pool of processes, before Sphinx reads the book. Returns the
    chapters executed. Chapters are moved into place only once all succeeded, each in one rename."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    stale = stale_chapters(chapters, inputs, destination)
    if len(stale) < len(chapters):
        print(f"  {len(chapters) - len(stale)} chapitre(s) territoriaux à jour, non réexécutés", flush=True)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as running:
        if stale:  # the kernel server prepares itself while jupyter-cache is consulted
            running.enter_context(kernels.kernel_server(PRELOAD))
        notebooks = uncached_notebooks(notebooks, cache_path)
        if not stale and not notebooks:
            print("  chapitres territoriaux à jour, cahiers MyST en cache : rien à exécuter", flush=True)
            return []
        running.enter_context(kernels.kernel_server(PRELOAD))  # the same one, if already running
        jobs = max(1, min(len(stale) + len(notebooks), workers or default_workers()))
        pool = running.enter_context(notebook_pool(jobs))
        staging = Path(running.enter_context(tempfile.TemporaryDirectory(prefix=".chapitres-", dir=staging_dir)))
        if stale:
            print(f"  exécution de {len(stale)} chapitre(s) territoriaux…", flush=True)
        if notebooks:
            print(f"  exécution de {len(notebooks)} cahier(s) MyST en parallèle…", flush=True)
        # The pool runs jobs in the order they are submitted: a chapter per worker first, then
        # the MyST notebooks (the longest ones), then the other chapters, which fill the end evenly.
        order = stale[:jobs] + notebooks + stale[jobs:]
        futures = {}
        for job in order:
            if isinstance(job, Path):
                futures[job] = pool.submit(execute_myst_notebook, str(job), env)
            else:
                futures[job.slug] = pool.submit(execute_chapter, job, str(staging / f"{job.slug}.ipynb"),
                                                job.fingerprint(inputs), inputs)
        for c in stale:
            try:
                futures[c.slug].result()
            except Exception as exc:  # papermill raises PapermillExecutionError with the traceback
                raise _failure(f"du chapitre de {c.titre} ({c.code})", exc) from exc
            print(f"  chapitre exécuté : {c.titre}", flush=True)
        cache = get_cache(str(cache_path))
        for path in notebooks:
            try:
                text, seconds = futures[path].result()
            except JobError as exc:
                raise BuildError(str(exc)) from exc
            except Exception as exc:
                raise _failure(f"de {path.relative_to(paths.ROOT)}", exc) from exc
            import nbformat

            cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(text, as_version=4), str(path),
                                                      data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"  cahier exécuté : {path.relative_to(paths.ROOT)}", flush=True)
        if stale:
            destination.mkdir(parents=True, exist_ok=True)
        for c in stale:
            replace_with(staging / f"{c.slug}.ipynb", destination / f"{c.slug}.ipynb")
    return stale


# -- jupyter-book ------------------------------------------------------------------------------

#: jupyter-book's command line as the book runs it (see :mod:`observatoire.build.jupyter_book_runner`).
JUPYTER_BOOK = (sys.executable, "-m", "observatoire.build.jupyter_book_runner")
#: The ``jupyter-book`` program as installed (what the benchmarks' baseline runs).
STOCK_JUPYTER_BOOK = (str(Path(sys.executable).with_name("jupyter-book")),)


def jupyter_book_command(output_dir: Path, builder: str = "html", toc: Path | None = None,
                         config: Path | None = None, program: tuple[str, ...] = JUPYTER_BOOK) -> list[str]:
    cmd = [*program, "build", str(paths.ROOT), "--path-output", str(output_dir),
           "--builder", builder, "-n", "-W", "--keep-going"]
    if toc:
        cmd += ["--toc", str(toc)]
    if config:
        cmd += ["--config", str(config)]
    return cmd


def _jupyter_book_env(env: dict[str, str] | None) -> dict[str, str]:
    environment = {**os.environ, "PYTHONHASHSEED": "0", **(env or {})}
    environment.pop(kernels.SERVER_VARIABLE, None)  # Sphinx executes nothing: the notebooks are run
    return environment


def jupyter_book(output_dir: Path, builder: str = "html", toc: Path | None = None, config: Path | None = None,
                 env: dict[str, str] | None = None, program: tuple[str, ...] = JUPYTER_BOOK) -> subprocess.CompletedProcess:
    return subprocess.run(jupyter_book_command(output_dir, builder, toc, config, program),
                          capture_output=True, text=True, env=_jupyter_book_env(env))


class WaitingJupyterBook:
    """jupyter-book started ahead of its build: it imports Sphinx and the book's extensions
    (about 1 s) while the notebooks run, then builds when :meth:`build` is called. Leaving the
    ``with`` block without building stops it."""

    def __init__(self, output_dir: Path, builder: str = "html", toc: Path | None = None,
                 config: Path | None = None, env: dict[str, str] | None = None):
        from observatoire.build.jupyter_book_runner import WAIT_FLAG

        self.command = jupyter_book_command(output_dir, builder, toc, config)
        program = list(JUPYTER_BOOK)
        self.process = subprocess.Popen([*program, WAIT_FLAG, *self.command[len(program):]], text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=_jupyter_book_env(env))
        # Its imports wait for idle time: the kernel server and the kernels come first.
        if hasattr(os, "setpriority"):
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


def build_summary(log: str) -> str:
    """What Sphinx re-read and which notebooks it executed, from its log."""
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    m = re.search(r"updating environment: (?:\[[^\]]*\] )?(\d+) added, (\d+) changed, (\d+) removed", log)
    reread = int(m.group(1)) + int(m.group(2)) if m else 0
    executed = len(re.findall(r"Executed notebook in", log))
    summary = f"{reread} page(s) relue(s), {executed} cahier(s) exécuté(s) par jupyter-book"
    typography = re.search(r"typographie française : ([^\n]+)", log)  # observatoire.build.typography
    return summary + (f" ; typographie : {typography.group(1).strip()}" if typography else "")


# -- the pipeline ------------------------------------------------------------------------------

def run(build: Build, workers: int | None = None) -> Path:
    """Build: validate, execute what is stale, run Sphinx, swap the site in. Returns the folder
    of the built site (``build.target`` when given)."""
    started = time.perf_counter()
    digest = notebooks_fingerprint(build.data_path, build.inputs)
    cache = notebook_cache(build.build_dir, digest)
    toc = build.toc if build.toc != paths.TOC else None
    env = {**build.environment, paths.DATA_VARIABLE: str(build.data_path)}
    with contextlib.ExitStack() as stack:
        settings = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="observatoire-livre-")))
        config = build_config(build, cache, settings)
        # Started first, they prepare themselves while the data are checked; nothing is written
        # into the build folder before the data are valid.
        sphinx = stack.enter_context(WaitingJupyterBook(build.work, build.builder, toc, config, env))
        if stale_chapters(build.chapters, build.inputs, build.destination):
            stack.enter_context(kernels.kernel_server(PRELOAD))
        print("[1/3] Validation des données…", flush=True)
        if build.check:
            build.check()
        build.build_dir.mkdir(parents=True, exist_ok=True)
        prepare_work(build.work, digest)

        print("[2/3] Chapitres et cahiers du livre…", flush=True)
        from observatoire.report import results

        stack.enter_context(results.shared_results(build.data_path, build.build_dir / ".cache" / "calculs"))
        execute_everything(build.chapters, toc_notebooks(build.toc), cache, env, build.build_dir, build.inputs,
                           build.destination, workers)
        os.utime(cache)  # the most recently used cache is kept
        _forget_old_caches(cache)
        for path, notebook in (build.pages() if build.pages else {}).items():
            import nbformat

            write_atomic(path, nbformat.writes(notebook))

        print(f"[3/3] Construction (jupyter-book, builder {build.builder}, avertissements = erreurs)…", flush=True)
        result = sphinx.build()
    out = build.work / "_build" / build.builder
    if result.returncode != 0 or not (out / "index.html").exists():
        shutil.rmtree(build.work / "_build" / ".doctrees", ignore_errors=True)
        raise BuildError("la construction du livre a échoué ; la version précédente est conservée.\n"
                         + build_problems(result.stdout + result.stderr))
    print("      " + build_summary(result.stdout), flush=True)
    if build.target:
        out = copy_in(out, build.target)
    print(f"Construit en {time.perf_counter() - started:.0f} s : {out / 'index.html'}", flush=True)
    return out
