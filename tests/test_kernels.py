"""Kernels forked from the kernel server (observatoire.build.kernels): same behaviour as kernels started
the usual way, one process and one namespace per notebook, errors and timeouts reported."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from observatoire.build import kernels

ROOT = Path(kernels.__file__).resolve().parents[2]


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def run(nb, cwd, timeout=60):
    NotebookClient(nb, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}},
                   **kernels.execution_options()).execute()
    return nb


def text(nb, index: int) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def server():
    with kernels.kernel_server() as path:
        yield path
    assert not os.path.exists(path), "le dossier du serveur est supprimé"


def test_without_a_server_kernels_start_the_usual_way(monkeypatch):
    monkeypatch.delenv(kernels.SERVER_VARIABLE, raising=False)
    assert kernels.execution_options() == {}


def test_forked_kernel_runs_in_its_own_process_with_the_notebook_context(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_ESSAI", "valeur transmise")
    assert kernels.execution_options() == {"kernel_manager_class": kernels.ForkedKernelManager}
    nb = run(notebook(
        "import os, sys\nprint(os.getpid(), os.getppid())",
        "print(os.getcwd())",
        "print(os.environ['OBSERVATOIRE_ESSAI'], noyaux_absent := 'OBSERVATOIRE_NOYAUX' not in os.environ)",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])",
        "print('pandas' in sys.modules, 'observatoire.report.figures' in sys.modules)",
    ), tmp_path)
    pid, parent = map(int, text(nb, 0).split())
    assert pid != os.getpid() and parent != os.getpid()  # a child of the server, not of this test
    assert text(nb, 1).strip() == str(tmp_path)
    assert text(nb, 2).split() == ["valeur", "transmise", "True"]
    assert any("image/png" in o.get("data", {}) for o in nb.cells[3].outputs), "inline figure shown"
    assert text(nb, 4).split() == ["True", "True"], "modules imported by the server"


def test_each_notebook_has_its_own_kernel_and_namespace(server, tmp_path):
    first = run(notebook("import os\nsecret = 42\nimport observatoire.text as t\nt.MARQUE = 1\nprint(os.getpid())"),
                tmp_path)
    second = run(notebook("import os\nprint(os.getpid())",
                          "print('secret' in globals())",
                          "import observatoire.text as t\nprint(hasattr(t, 'MARQUE'))"), tmp_path)
    assert text(first, 0) != text(second, 0)
    assert text(second, 1).strip() == "False"
    assert text(second, 2).strip() == "False", "a module changed by one notebook is intact in the next"


def test_errors_and_timeouts_are_reported(server, tmp_path):
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        run(notebook("1 / 0"), tmp_path)
    with pytest.raises(CellTimeoutError):
        run(notebook("import time\ntime.sleep(30)"), tmp_path, timeout=2)


def test_the_kernels_of_a_build_end_with_it(tmp_path):
    script = (
        "import nbformat, os, sys\n"
        "from nbclient import NotebookClient\n"
        "from observatoire.build import kernels\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('import os; print(os.getpid())')])\n"
        "nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}\n"
        "with kernels.kernel_server():\n"
        "    NotebookClient(nb, kernel_name='python3', **kernels.execution_options()).execute()\n"
        "print(nb.cells[0].outputs[0]['text'].strip())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    kernel = int(result.stdout.split()[-1])
    with pytest.raises(ProcessLookupError):
        os.kill(kernel, 0)


def test_jsonschema_does_not_compile_the_iri_grammars():
    # Importing the package first keeps rfc3987_syntax (1.5 s of Lark grammars) out of every
    # process that reads a notebook; jsonschema still validates.
    script = ("import observatoire, sys, jsonschema, nbformat\n"
              "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)\n"
              "jsonschema.validate({'a': 1}, {'type': 'object', 'properties': {'a': {'type': 'string'}}})\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
    assert "ValidationError" in result.stderr and "is not of type 'string'" in result.stderr


def test_a_waiting_jupyter_book_not_asked_to_build_stops_without_output(tmp_path):
    from observatoire.build import book

    with book.WaitingJupyterBook(book.ROOT, tmp_path / "sortie") as waiting:
        process = waiting.process
    assert process.returncode == 0
    assert not (tmp_path / "sortie").exists()


def test_results_kept_for_the_kernels_follow_the_file_and_the_choices(tmp_path, monkeypatch):
    import shutil

    from observatoire.engine import pipeline, uncertainty
    from observatoire.report.sheet import territory_sheet
    from observatoire.paths import DEFAULT_DATA

    monkeypatch.setattr(pipeline, "_KEPT_FILES", {})
    monkeypatch.setattr(uncertainty, "_KEPT_DRAWS", {})
    data = tmp_path / "pilotes.csv"
    shutil.copyfile(DEFAULT_DATA, data)
    kept, _ = pipeline.keep_scored_file(data)
    drawn = uncertainty.keep_draws(kept)
    sheet = territory_sheet("33063", data)
    assert sheet.scores is kept and uncertainty.monte_carlo(sheet.scores) is drawn
    # Other choices, another space, other scores: computed, not taken from what is kept.
    assert pipeline.score_data_file(data, pipeline.Choices(normalisation="rank"))[0] is not kept
    assert uncertainty.monte_carlo(kept, space=uncertainty.Space()) is not drawn
    assert uncertainty.monte_carlo(kept, n_draws=50) is not drawn
    # The same file changed (here only its modification time): scored again, same numbers.
    status = data.stat()
    os.utime(data, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    again, _ = pipeline.score_data_file(data)
    assert again is not kept
    assert again.index.equals(kept.index)


def test_a_chapter_failing_in_a_forked_kernel_stops_the_build_in_french(server, tmp_path):
    from observatoire.build import book
    from observatoire.fingerprints import BookInputs

    template = nbformat.read(book.TEMPLATE, as_version=4)
    template.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('échec voulu du chapitre')"))
    bad = tmp_path / "territoire.ipynb"
    nbformat.write(template, bad)
    staging, destination = tmp_path / "staging", tmp_path / "chapitres"
    staging.mkdir()
    chapters = book.pilot_chapters(book.DEFAULT_DATA)[:2]
    with pytest.raises(book.BuildError, match="l'exécution du chapitre de .* a échoué") as failure:
        book.refresh_chapters(chapters, staging, 2, inputs=BookInputs(template=bad), destination=destination)
    assert "échec voulu du chapitre" in str(failure.value)
    assert not destination.exists(), "no chapter written"
