"""The jobs the build's worker processes run: a territory chapter (the papermill template run
for one territory), the comparison chapter run with one territory added, and a MyST notebook
executed for jupyter-cache. Kept light (no pandas at import): the workers import it to unpickle
their jobs, and they are forked from a process that must stay single-threaded.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from observatoire import paths
from observatoire.fingerprints import BookInputs, chapter_fingerprint, engine_files, fingerprint, record_fingerprint
from observatoire.text import escape_markdown

#: Kinds of data of a chapter: the pilots' public statistics, or a territory's own file.
NATURES = ("pilote", "territoire")
DATA_LABELS = {"pilote": "statistiques publiques", "territoire": "données du territoire"}
#: Sourced monographs of the pilots (MyST, included in their chapter by the chapter's slug).
MONOGRAPHS = paths.CHAPTERS / "monographies"
MONOGRAPH_TITLE = "## Le territoire vu par ses sources publiques"
COMPARISON_SOURCE = paths.CHAPTERS / "comparaison.md"


class JobError(Exception):
    """A notebook failed in a worker (French message, with the notebook's traceback)."""


@dataclass(frozen=True)
class Chapter:
    """One territory chapter: the template run for one territory on one data file."""

    code: str
    slug: str
    titre: str
    data_path: Path
    nature: str = "pilote"

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
                                   kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False, log_output=False,
                                   request_save_on_cell_execute=False)  # written once, when complete
        finish_chapter(Path(output), self.titre, self.nature, digest, self.slug)


def finish_chapter(path: Path, title: str, nature: str = "pilote", digest: str | None = None,
                   slug: str | None = None) -> None:
    """Give the executed chapter its territory's name as title (escaped: it may be user text),
    keep the data notice that fits the kind of data, include a pilot's sourced monograph after
    the section on the territory (Sphinx reads it, so editing it re-executes nothing), hide
    papermill's injected parameters (they hold local paths, not content) and record the digest
    of the chapter's inputs."""
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
            figure["caption"] = figure["caption"].replace(DATA_LABELS["pilote"], DATA_LABELS[nature])
    if nature == "pilote" and slug and (MONOGRAPHS / f"{slug}.md").exists():
        after = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## "))
        nb.cells.insert(after + 1, nbformat.v4.new_markdown_cell(
            f"{MONOGRAPH_TITLE}\n\n```{{include}} monographies/{slug}.md\n```\n"))
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    if digest:
        record_fingerprint(nb, digest)
    nbformat.write(nb, path)


@dataclass(frozen=True)
class ComparisonChapter:
    """The comparison chapter of the book, run by papermill with one territory added."""

    code: str
    slug: str
    titre: str
    data_path: Path

    def fingerprint(self, inputs: BookInputs = BookInputs()) -> str:
        return fingerprint({"code": self.code, "titre": self.titre},
                           {"source": COMPARISON_SOURCE, "donnees": self.data_path,
                            "pilotes": paths.DEFAULT_DATA, **engine_files(inputs)})

    def execute(self, output: str, digest: str, inputs: BookInputs) -> None:
        import papermill
        from myst_nb.core.read import read_myst_markdown_notebook

        source = read_myst_markdown_notebook(COMPARISON_SOURCE.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory() as tmp:
            template = Path(tmp) / "comparaison.ipynb"
            nbformat.write(source, template)
            papermill.execute_notebook(
                str(template), output, kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False,
                log_output=False, parameters={"territoire": str(self.code), "donnees_territoire": str(self.data_path)},
                request_save_on_cell_execute=False)
        nb = nbformat.read(output, as_version=4)
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if "injected-parameters" in tags and "remove-cell" not in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
        nb.metadata.pop("jupytext", None)
        record_fingerprint(nb, digest)
        nbformat.write(nb, output)


def execute_chapter(chapter, output: str, digest: str, inputs: BookInputs) -> str:
    """Execute one chapter job."""
    chapter.execute(output, digest, inputs)
    return output


def execute_myst_notebook(path: str, env: dict[str, str], timeout: int = 300) -> tuple[str, float]:
    """Execute a MyST text notebook as myst-nb would (same reader, same working directory);
    return the executed notebook as JSON, for the parent process to put in jupyter-cache."""
    from jupyter_cache.executors.utils import single_nb_execution
    from myst_nb.core.read import read_myst_markdown_notebook

    os.environ.update(env)  # the kernel inherits it (the book's data file)
    nb = read_myst_markdown_notebook(Path(path).read_text(encoding="utf-8"), add_source_map=True, path=path)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=False)
    if result.err is not None:
        raise JobError(f"l'exécution de {Path(path).relative_to(paths.ROOT)} a échoué :\n{result.exc_string}")
    return nbformat.writes(nb), result.time
