"""Kernels forked from the kernel server through the ``observatoire-fourche`` kernel provisioner
(observatoire.kernels): same behaviour as kernels started the usual way, one process and
one namespace per notebook, errors, timeouts and crashes reported; nothing changes outside the
build's and the Campus's own processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from observatoire import kernels, paths
from observatoire.build.preload import PRELOAD

pytestmark = pytest.mark.skipif(not kernels.fork_supported(), reason="kernels are forked on Linux only")


def notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def run_in_process(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 60, server: str | None = None,
                   tmp_path: Path | None = None) -> tuple[subprocess.CompletedProcess, nbformat.NotebookNode]:
    """Execute ``nb`` in a fresh process started with the build's environment, as a worker is:
    jupyter_client's provisioner factory reads its default provisioner once per process."""
    folder = tmp_path or cwd
    source, out = folder / "entree.ipynb", folder / "sortie.ipynb"
    nbformat.write(nb, source)
    script = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "try:\n"
        f"    NotebookClient(nb, kernel_name='python3', timeout={timeout}, resources={{'metadata': {{'path': sys.argv[3]}}}}).execute()\n"
        "finally:\n"
        "    nbformat.write(nb, sys.argv[2])\n"
    )
    env = {**os.environ, **({kernels.SERVER_VARIABLE: server,
                             "JUPYTER_DEFAULT_PROVISIONER_NAME": kernels.PROVISIONER_NAME} if server else {})}
    result = subprocess.run([sys.executable, "-c", script, str(source), str(out), str(cwd)],
                            capture_output=True, text=True, env=env, timeout=timeout + 60)
    return result, (nbformat.read(out, as_version=4) if out.exists() else nb)


def text(nb, index: int) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def server():
    with kernels.kernel_server(PRELOAD) as path:
        yield path
    assert not os.path.exists(path), "le dossier du serveur est supprimé"


def test_the_provisioner_is_registered_under_jupyter_clients_entry_point():
    from importlib.metadata import entry_points

    from jupyter_client.provisioning import KernelProvisionerFactory

    found = entry_points(group="jupyter_client.kernel_provisioners", name=kernels.PROVISIONER_NAME)
    assert [e.load() for e in found] == [kernels.ForkProvisioner]
    assert kernels.PROVISIONER_NAME in KernelProvisionerFactory.instance().get_provisioner_entries()


def test_the_provisioner_is_chosen_only_where_the_build_asks_for_it(monkeypatch):
    monkeypatch.delenv(kernels.SERVER_VARIABLE, raising=False)
    assert kernels.provisioner_environment() == {}
    script = "import observatoire, observatoire.kernels, os; print(os.environ.get('JUPYTER_DEFAULT_PROVISIONER_NAME'))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "JUPYTER_DEFAULT_PROVISIONER_NAME"})
    assert result.stdout.strip() == "None", "importing the package selects nothing"


def test_forked_kernel_runs_in_its_own_process_with_the_notebook_context(server, tmp_path):
    nb = notebook(
        "import os, sys\nprint(os.getpid(), os.getppid())",
        "print(os.getcwd())",
        "print(os.environ['OBSERVATOIRE_ESSAI'], 'OBSERVATOIRE_NOYAUX' not in os.environ)",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])",
        "print('pandas' in sys.modules, 'observatoire.report.figures' in sys.modules)",
        "print(len(os.listdir('/proc/self/task')) >= 1)",
    )
    os.environ["OBSERVATOIRE_ESSAI"] = "valeur transmise"
    try:
        result, nb = run_in_process(nb, tmp_path, server=server)
    finally:
        del os.environ["OBSERVATOIRE_ESSAI"]
    assert result.returncode == 0, result.stderr
    pid, parent = map(int, text(nb, 0).split())
    server_pid = int(subprocess.run(["pgrep", "-f", f"observatoire.kernels {server}"],
                                    capture_output=True, text=True).stdout.split()[0])
    assert parent == server_pid, "the kernel is a child of the server"
    assert text(nb, 1).strip() == str(tmp_path)
    assert text(nb, 2).split() == ["valeur", "transmise", "True"]
    assert any("image/png" in o.get("data", {}) for o in nb.cells[3].outputs), "inline figure shown"
    assert text(nb, 4).split() == ["True", "True"], "modules imported by the server"


def test_without_the_server_the_provisioner_starts_kernels_the_usual_way(tmp_path):
    gone = str(tmp_path / "absent" / "serveur")
    result, nb = run_in_process(notebook("import os, sys\nprint(os.getppid(), 'pandas' in sys.modules)"),
                                tmp_path, server=gone)
    assert result.returncode == 0, result.stderr
    assert text(nb, 0).split()[1] == "False", "a kernel started from scratch"


def test_a_server_whose_preload_failed_leaves_kernels_to_start_the_usual_way(tmp_path):
    # The socket is bound before the preload runs (clients wait in its queue): a preload that
    # raises leaves the socket file behind a dead server, and every kernel must still start.
    script = ("import sys\nfrom observatoire import kernels\n"
              "def fail():\n    raise RuntimeError('préchargement en échec')\n"
              "kernels.serve(sys.argv[1], '__main__:fail')\n")
    folder = tmp_path / "serveur-mort"
    folder.mkdir()
    path = folder / "serveur"
    server = subprocess.run([sys.executable, "-c", script, str(path)], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120)
    assert server.returncode != 0 and "préchargement en échec" in server.stderr
    assert path.exists()
    result, nb = run_in_process(notebook("import os, sys\nprint(os.getppid(), 'pandas' in sys.modules)"),
                                tmp_path, server=str(path))
    assert result.returncode == 0, result.stderr
    assert text(nb, 0).split()[1] == "False", "a kernel started from scratch"


def test_each_notebook_has_its_own_kernel_and_namespace(server, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, first = run_in_process(notebook("import os\nsecret = 42\nimport observatoire.text as t\nt.MARQUE = 1\n"
                                       "print(os.getpid())"), tmp_path / "a", server=server)
    _, second = run_in_process(notebook("import os\nprint(os.getpid())", "print('secret' in globals())",
                                        "import observatoire.text as t\nprint(hasattr(t, 'MARQUE'))"),
                               tmp_path / "b", server=server)
    assert text(first, 0) != text(second, 0)
    assert text(second, 1).strip() == "False"
    assert text(second, 2).strip() == "False", "a module changed by one notebook is intact in the next"


def test_errors_and_timeouts_are_reported(server, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    result, _ = run_in_process(notebook("1 / 0"), tmp_path / "a", server=server)
    assert result.returncode != 0 and "ZeroDivisionError" in result.stderr
    result, _ = run_in_process(notebook("import time\ntime.sleep(30)"), tmp_path / "b", timeout=3, server=server)
    assert result.returncode != 0 and "CellTimeoutError" in result.stderr


def test_a_kernel_crash_surfaces_with_its_exit_status_and_last_words(server, tmp_path):
    result, _ = run_in_process(notebook("import os, sys\nprint('dernier mot du noyau', file=sys.__stderr__, flush=True)\n"
                                        "os._exit(7)"), tmp_path, server=server)
    assert result.returncode != 0 and "DeadKernelError" in result.stderr
    assert (7, "dernier mot du noyau") in kernels.crashed_kernels(server).values()
    # A kernel that ended well leaves no error file behind.
    ok, _ = run_in_process(notebook("print(1)"), tmp_path, server=server)
    assert ok.returncode == 0, ok.stderr
    folder = Path(server).parent
    crashed = set(kernels.crashed_kernels(server))
    assert {int(f.name.split("-")[1]) for f in folder.glob(kernels.ERRORS_PREFIX + "*")} <= crashed


def test_forked_kernels_use_unix_sockets_of_their_own(server, tmp_path):
    """Channels over ``ipc`` in the server's private folder, one prefix per kernel: two kernels
    started at once by two worker processes cannot pick the same TCP port."""
    cell = ("import json, ipykernel.connect as c\n"
            "info = json.load(open(c.get_connection_file()))\n"
            "print(info['transport'], info['ip'])")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, nb1 = run_in_process(notebook(cell), tmp_path / "a", server=server)
    second, nb2 = run_in_process(notebook(cell), tmp_path / "b", server=server)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    (t1, ip1), (t2, ip2) = text(nb1, 0).split(), text(nb2, 0).split()
    assert t1 == t2 == "ipc" and ip1 != ip2
    assert Path(ip1).parent == Path(ip2).parent == Path(server).parent


def test_the_provisioner_reads_the_exit_status_recorded_by_the_server(server, tmp_path):
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    os.environ.update({kernels.SERVER_VARIABLE: server})
    try:
        async def scenario():
            km = AsyncKernelManager(kernel_name="python3")
            km.kernel_spec  # noqa: B018 (loads the spec)
            km.provisioner = kernels.ForkProvisioner(kernel_id="essai", kernel_spec=km.kernel_spec, parent=km)
            await km.start_kernel(cwd=str(tmp_path))
            assert km.provisioner.forked_pid
            client = km.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            client.execute("import os; os._exit(3)")
            status = await asyncio.wait_for(km.provisioner.wait(), 30)
            client.stop_channels()
            await km.cleanup_resources()
            return status
        assert asyncio.run(scenario()) == 3
    finally:
        os.environ.pop(kernels.SERVER_VARIABLE, None)


def test_the_server_refuses_to_fork_when_it_is_not_single_threaded(tmp_path):
    # A server whose process runs a thread answers with a refusal: the kernel then starts the
    # usual way (checked above); forking a multi-threaded process could deadlock the child.
    script = (
        "import threading, time, sys\n"
        "from observatoire import kernels\n"
        "def start_thread():\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "kernels.serve(sys.argv[1], '__main__:start_thread')\n"
    )
    path = tmp_path / "serveur"
    server = subprocess.Popen([sys.executable, "-c", script, str(path)], stdin=subprocess.PIPE)
    try:
        import time

        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kernels.request_kernel(str(path), str(tmp_path / "k.json"), {}, str(tmp_path)) is None
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def test_the_server_itself_stays_single_threaded(server, tmp_path):
    result, nb = run_in_process(notebook("print(1)"), tmp_path, server=server)
    assert result.returncode == 0, result.stderr
    server_pid = subprocess.run(["pgrep", "-f", f"observatoire.kernels {server}"],
                                capture_output=True, text=True).stdout.split()[0]
    assert len(os.listdir(f"/proc/{server_pid}/task")) == 1


def test_the_kernels_of_a_build_end_with_it(tmp_path):
    script = (
        "import subprocess, sys, os, nbformat\n"
        "from observatoire import kernels\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('import os, time; print(os.getpid())')])\n"
        "nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}\n"
        "from nbclient import NotebookClient\n"
        "with kernels.kernel_server('observatoire.build.preload:preload'):\n"
        "    os.environ.update(kernels.provisioner_environment())\n"
        "    NotebookClient(nb, kernel_name='python3').execute()\n"
        "print(nb.cells[0].outputs[0]['text'].strip())\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=paths.ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    kernel = int(result.stdout.split()[-1])
    with pytest.raises(ProcessLookupError):
        os.kill(kernel, 0)


def test_importing_the_package_changes_no_other_library():
    script = ("import sys, observatoire, observatoire.engine.pipeline, jsonschema\n"
              "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is None)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "False", "rfc3987_syntax is only blocked in the build's own processes"


def test_a_waiting_jupyter_book_not_asked_to_build_stops_without_output(tmp_path):
    from observatoire.build.pipeline import WaitingJupyterBook

    with WaitingJupyterBook(tmp_path / "sortie") as waiting:
        process = waiting.process
    assert process.returncode == 0
    assert not (tmp_path / "sortie").exists()


def test_a_chapter_failing_in_a_forked_kernel_stops_the_build_in_french(tmp_path):
    from observatoire.build.book import pilot_chapters
    from observatoire.build.pipeline import BuildError, execute_everything
    from observatoire.fingerprints import BookInputs

    template = nbformat.read(paths.TEMPLATE, as_version=4)
    template.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('échec voulu du chapitre')"))
    bad = tmp_path / "territoire.ipynb"
    nbformat.write(template, bad)
    destination = tmp_path / "chapitres"
    chapters = pilot_chapters(paths.DEFAULT_DATA)[:2]
    with pytest.raises(BuildError, match="l'exécution du chapitre de .* a échoué") as failure:
        execute_everything(chapters, [], tmp_path / "cache" / "c", {}, tmp_path, BookInputs(template=bad),
                           destination, workers=2)
    assert "échec voulu du chapitre" in str(failure.value)
    assert not destination.exists(), "no chapter written"


def test_notebook_workers_are_not_forked_from_the_build_process():
    from observatoire.build.pipeline import worker_context

    assert worker_context().get_start_method() in {"forkserver", "spawn"}


def test_no_unix_only_call_outside_a_guard():
    import ast

    calls = {"setpriority", "killpg", "setsid", "fork", "getpgid", "waitpid"}
    for path in [*(paths.PACKAGE / "build").glob("*.py"), *(paths.PACKAGE / "campus").glob("*.py"),
                 paths.PACKAGE / "kernels.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in calls and getattr(node.value, "id", "") == "os":
                # Only the kernel server and the provisioner call them, and they run only where
                # fork_supported(); setpriority is guarded by hasattr.
                assert path.name in {"kernels.py", "pipeline.py"}, (path.name, node.attr)
    source = (paths.PACKAGE / "build" / "pipeline.py").read_text(encoding="utf-8")
    assert 'hasattr(os, "setpriority")' in source
