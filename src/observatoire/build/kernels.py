"""Jupyter kernels forked from a prepared process, for the book's notebooks.

Starting a kernel the usual way costs, for every notebook, a new Python process, ipykernel's
start-up and the imports of the first cell (pandas, matplotlib, seaborn, the engine): about
2.5 to 3 s per notebook on these machines, when most of the book's notebooks compute for less
than one second. A *kernel server* pays those costs once per build: it imports all that and
reads the reference tables, then forks one child per kernel it is asked for. Each child
becomes a fresh ipykernel, so every notebook still runs in a process of its own, with its own
namespace: nothing a notebook does reaches another one (unlike reusing one kernel for several
notebooks), and every notebook starts from the same state whatever the order of execution.

jupyter_client keeps driving the kernels (nbclient, papermill, jupyter-cache's executor): only
the launch changes, through the kernel manager class given to them
(:func:`execution_options`). Where no server runs, kernels start the usual way.

The server forks from a single-threaded loop that has run no notebook code; it never runs
asyncio or ZeroMQ itself, which do not survive a fork.
"""

from __future__ import annotations

from observatoire import paths
import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

#: Environment variable holding the path of the kernel server's socket.
SERVER_VARIABLE = "OBSERVATOIRE_NOYAUX"
#: What the server imports before forking: everything the book's notebooks import.
PRELOADED_MODULES = (
    "numpy", "pandas", "pyarrow", "pyarrow.csv", "matplotlib", "matplotlib.pyplot", "seaborn",
    "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "ipywidgets",
    "myst_nb.ext.glue",
    "observatoire.engine.catalogue", "observatoire.report.comparison", "observatoire.report.demo", "observatoire.report.sheet",
    "observatoire.report.figures", "observatoire.build.book", "observatoire.engine.pipeline", "observatoire.engine.reference",
    "observatoire.text", "observatoire.engine.uncertainty", "observatoire.engine.validate",
    "observatoire.campus.shock", "observatoire.campus.diagnosis", "observatoire.campus.composite",
    "observatoire.campus.quiz",
)
# matplotlib reads its backend when first imported; ipykernel would set this variable only
# once the kernel starts, too late for a module imported by the server.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def preload(data_path: str | None = None) -> None:
    """Import what the notebooks import and read the reference tables (read-only, and copied
    into each kernel by the fork); given the book's data file, score it and run its Monte Carlo
    draws (0.2 s, which every pilot chapter and the uncertainty annex would spend)."""
    import importlib

    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's warning at import
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.report.demo import pilots
    from observatoire.engine.reference import load_reference

    reference = load_reference()
    load_catalogue()
    for pilot in pilots():  # builds the reference's membership tables (0.2 s in every chapter)
        reference.territory(pilot.code)
    if data_path:
        from observatoire.engine.pipeline import keep_scored_file
        from observatoire.engine.uncertainty import keep_draws

        scores, _ = keep_scored_file(data_path)
        keep_draws(scores)


# --- the server ------------------------------------------------------------------------------

def serve(socket_path: str, data_path: str | None = None) -> None:
    """Answer kernel requests on ``socket_path`` until standard input closes (the build ended
    or died)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)  # requests made while preloading wait here
    try:
        preload(data_path)
    except Exception:  # a data file the build refuses: the build reports it, kernels still start
        preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the system reaps the kernels that end
    _answer_requests(listener)


def _answer_requests(listener: socket.socket) -> None:
    """Fork a kernel for each request; return when standard input closes."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                return
            connection, _ = listener.accept()
            with connection:
                request = json.loads(connection.makefile("rb").readline())
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    connection.close()
                    _become_kernel(request)
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_kernel(request: dict[str, Any]) -> None:
    """In the forked child: become the ipykernel that jupyter_client asked for. Never returns."""
    code = 1
    try:
        os.setsid()  # its own process group, as jupyter_client's launcher gives a kernel
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the notebook may wait for subprocesses
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 2)  # ipykernel's TCP transport warning, at every start
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        # The kernel watches the server (its parent): it ends if the server dies. Given on the
        # command line, since ipykernel read JPY_PARENT_PID when the server imported it.
        arguments = ["-f", request["connexion"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        sys.argv = [sys.executable, "-m", "ipykernel_launcher", *arguments]
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(arguments)
        app.start()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


@contextlib.contextmanager
def kernel_server(data_path: str | os.PathLike | None = None) -> Iterator[str]:
    """Run a kernel server for the duration of the block; yield its socket path, also set in
    ``os.environ`` so that processes started in the block find it. Inside a block that already
    runs one, that server is used. ``data_path``: the book's data file, scored in advance."""
    running = os.environ.get(SERVER_VARIABLE)
    if running and os.path.exists(running):
        yield running
        return
    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):  # Windows: the usual kernels
        yield ""
        return
    folder = tempfile.mkdtemp(prefix="noyaux-")  # private (0700): only this user may connect
    path = os.path.join(folder, "serveur")
    # Its own process group: both servers are stopped together (their kernels have their own).
    server = subprocess.Popen([sys.executable, "-m", "observatoire.build.kernels", path,
                               *([str(data_path)] if data_path else [])], stdin=subprocess.PIPE,
                              cwd=str(paths.ROOT), start_new_session=True)
    previous = os.environ.get(SERVER_VARIABLE)
    os.environ[SERVER_VARIABLE] = path
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(path):  # bound before preloading: clients wait in its queue
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("le serveur de noyaux Jupyter n'a pas démarré")
            time.sleep(0.01)
        yield path
    finally:
        if previous is None:
            os.environ.pop(SERVER_VARIABLE, None)
        else:
            os.environ[SERVER_VARIABLE] = previous
        # Their kernels have been shut down by their clients; they may still be preparing.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.stdin.close()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


# --- the client side: jupyter_client's kernel manager ------------------------------------------

class ForkedProcess:
    """The part of :class:`subprocess.Popen` that jupyter_client uses, for a kernel forked by the
    server (a child of the server, not of this process: it is watched through its pid)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # its exit status went to the server, which discards it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"noyau {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _connection_file(cmd: list[str]) -> str | None:
    """The connection file of a standard ipykernel command line, else None."""
    if "ipykernel_launcher" not in cmd and "ipykernel" not in cmd:
        return None
    with contextlib.suppress(ValueError, IndexError):
        return cmd[cmd.index("-f") + 1]
    return None


def request_kernel(socket_path: str, connection_file: str, env: dict[str, str], cwd: str) -> int:
    """Ask the server for a kernel; return its pid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(socket_path)
        client.sendall(json.dumps({"connexion": connection_file, "env": env, "cwd": cwd}).encode() + b"\n")
        answer = client.makefile("rb").readline()
    if not answer:
        raise RuntimeError("le serveur de noyaux Jupyter n'a pas répondu")
    return int(json.loads(answer)["pid"])


class ForkedKernelProvisioner(LocalProvisioner):
    """Launches the kernel through the server; everything else is jupyter_client's local
    provisioner (ports, connection file, signals to the process group, shutdown)."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        connection_file = _connection_file(cmd)
        socket_path = os.environ.get(SERVER_VARIABLE)
        if connection_file is None or not socket_path:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        env.pop(SERVER_VARIABLE, None)
        cwd = str(kwargs.get("cwd") or os.getcwd())
        # A blocking exchange on a local socket, answered at once once the server is ready.
        # Not asyncio.to_thread: a pool worker forked from a process that had run nbclient
        # inherits that event loop, and its executor's threads do not survive the fork.
        pid = request_kernel(socket_path, connection_file, env, cwd)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid
        return self.connection_info


class ForkedKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, with kernels forked by the kernel server."""

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkedKernelProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
        return await super()._async_pre_start_kernel(**kw)


def execution_options() -> dict[str, Any]:
    """Keyword arguments for nbclient (directly or through papermill or jupyter-cache): the
    forked kernels when a server runs, else nothing (kernels start the usual way)."""
    return {"kernel_manager_class": ForkedKernelManager} if os.environ.get(SERVER_VARIABLE) else {}


if __name__ == "__main__":
    serve(*sys.argv[1:3])
