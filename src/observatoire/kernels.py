"""Jupyter kernels forked from a prepared process: the book's notebooks and the Campus's exercises.

Starting a kernel the usual way costs a new Python process, ipykernel's start-up and the imports
of the first cell (pandas, the engine, ipywidgets…): about 2 to 3 s of processor per kernel on
these machines, when most of the book's notebooks compute for less than one second and a Campus
exercise for a few tenths. A *kernel server* pays those costs once: it imports all that and
reads what every kernel reads (the *preload*, a function named by its caller), then forks one
child per kernel it is asked for. Each child becomes a fresh ipykernel, so every notebook, every
learner, still runs in a process of its own, with its own namespace: nothing one kernel does
reaches another one, and every kernel starts from the same state.

Two callers, each with its own preload: the book's build (:mod:`observatoire.build.preload`: the
libraries of the chapters and the reference tables) and the Campus server
(:mod:`observatoire.campus.preload`: the exercises' modules and their shared computations).

How it plugs in, on jupyter_client's official extension point: :class:`ForkProvisioner` is a
kernel provisioner, registered under the ``jupyter_client.kernel_provisioners`` entry point as
``observatoire-fourche`` (pyproject.toml). jupyter_client keeps driving the kernels (nbclient,
papermill, jupyter-cache's executor, jupyter_server and Voilà); only the launch changes. The build
and the Campus select it for their own processes only, through ``JUPYTER_DEFAULT_PROVISIONER_NAME``
(:func:`provisioner_environment`); nothing else on the machine — a user's Jupyter — is affected.

Safety rules (measured here, see ARCHITECTURE.md):

- the server forks only on Linux, and only while it is single-threaded: it is started with the
  thread pools of OpenBLAS/OpenMP and Arrow's jemalloc background thread disabled, and checks
  ``/proc/self/task`` before every fork; if a thread appeared it refuses, and the provisioner
  starts that kernel the usual way;
- it never runs asyncio or ZeroMQ itself (they do not survive a fork);
- it reaps its children and records each exit status, so a kernel that crashes surfaces with its
  status and the last line of its error output (:meth:`ForkProvisioner.poll`, :func:`crashed_kernels`);
- a forked kernel talks to its client over Unix sockets in the server's private folder
  (jupyter_client's ``ipc`` transport) rather than TCP ports: the build's worker processes each
  pick free ports on their own (jupyter_client's port cache is per process), and two kernels
  started at the same moment by two workers could get the same port, the second one dying on
  « Address already in use » before it answers;
- elsewhere (Windows, macOS) no server runs and kernels start the usual way.
"""

from __future__ import annotations

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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from observatoire import paths

#: Environment variable holding the path of the kernel server's socket.
SERVER_VARIABLE = "OBSERVATOIRE_NOYAUX"
#: Set to 1, kernels start the usual way (benchmarks, debugging).
NO_FORK_VARIABLE = "OBSERVATOIRE_SANS_FOURCHE"
#: The provisioner's name under the ``jupyter_client.kernel_provisioners`` entry point.
PROVISIONER_NAME = "observatoire-fourche"
#: Environment variable holding the preload of the running kernel server (``module:function``).
PRELOAD_VARIABLE = "OBSERVATOIRE_NOYAUX_PRECHARGEMENT"
#: Environment of the server: libraries that would start threads at import time don't.
SINGLE_THREADED = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
# matplotlib reads its backend when first imported; ipykernel would set this variable only
# once the kernel starts, too late for a module imported by the server.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: What every forked kernel runs on, imported by the server before the caller's preload.
KERNEL_MODULES = ("IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "ipykernel.comm")
STATUS_PREFIX = "statut-"
ERRORS_PREFIX = "erreurs-"


def fork_supported() -> bool:
    """Kernels are forked on Linux only (``/proc`` tells whether the server is single-threaded)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and hasattr(socket, "AF_UNIX")


def thread_count() -> int:
    """Threads of this process, native ones included (not only Python's)."""
    return len(os.listdir("/proc/self/task"))


def run_preload(preload: str) -> None:
    """Import ipykernel (:data:`KERNEL_MODULES`), then call the preload ``module:function`` (what
    the caller's kernels import and read): done once, before the first fork."""
    import importlib

    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's warning at import
    for name in KERNEL_MODULES:
        importlib.import_module(name)
    module, _, function = preload.partition(":")
    getattr(importlib.import_module(module), function)()


# --- the server ------------------------------------------------------------------------------

def serve(socket_path: str, preload: str) -> None:
    """Run ``preload`` (``module:function``), then answer kernel requests on ``socket_path`` until
    standard input closes (the build or the Campus ended, or died). Each answer is
    ``{"pid": …}``, or ``{"refus": …}`` when forking is not safe."""
    folder = Path(socket_path).parent
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)  # requests made while preloading wait here
    run_preload(preload)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the pipe
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is sys.stdin:
                _reap(folder)
                return
            if key.fileobj == wake_read:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 512)
                _reap(folder)
                continue
            connection, _ = listener.accept()
            with connection:
                request = json.loads(connection.makefile("rb").readline())
                threads = thread_count()
                if threads != 1:  # a fork would copy a process some other thread may be changing
                    answer = {"refus": f"serveur de noyaux multi-tâches ({threads} fils d'exécution)"}
                else:
                    pid = os.fork()
                    if pid == 0:
                        selector.close()
                        listener.close()
                        connection.close()
                        signal.set_wakeup_fd(-1)
                        os.close(wake_read)
                        os.close(wake_write)
                        _become_kernel(request, folder)
                    answer = {"pid": pid}
                connection.sendall(json.dumps(answer).encode() + b"\n")


def _reap(folder: Path) -> None:
    """Collect the kernels that ended and record their exit status (``statut-<pid>``)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            with contextlib.suppress(FileNotFoundError):
                (folder / f"{ERRORS_PREFIX}{pid}").unlink()
        tmp = folder / f".{STATUS_PREFIX}{pid}"
        tmp.write_text(str(code))
        os.replace(tmp, folder / f"{STATUS_PREFIX}{pid}")


def _become_kernel(request: dict[str, Any], folder: Path) -> None:
    """In the forked child: become the ipykernel that jupyter_client asked for. Never returns.
    Its error output goes to ``erreurs-<pid>`` in the server's folder (removed when it ends
    well), which :func:`crashed_kernels` reads when it does not."""
    code = 1
    try:
        os.setsid()  # its own process group, as jupyter_client's launcher gives a kernel
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the notebook may wait for subprocesses
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.close(null)
        errors = os.open(folder / f"{ERRORS_PREFIX}{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(errors, 2)
        os.close(errors)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        # The kernel watches the server (its parent): it ends if the server dies. Given on the
        # command line, since ipykernel read JPY_PARENT_PID when the server imported it.
        arguments = ["-f", request["connexion"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        if "ipywidgets" in sys.modules:
            # ipywidgets registers its comm targets when imported in a kernel; imported by the
            # server before there was one, it is loaded as the IPython extension it also is.
            arguments.append("--IPKernelApp.extra_extensions=['ipywidgets']")
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
def kernel_server(preload: str) -> Iterator[str]:
    """Run a kernel server for the duration of the block; yield its socket path ("" where
    kernels are not forked). ``preload``: the ``module:function`` the server runs before its
    first fork. Processes started in the block find it through :func:`provisioner_environment`.
    Inside a block that already runs one with the same preload, that server is used."""
    running = os.environ.get(SERVER_VARIABLE)
    if running and os.path.exists(running) and os.environ.get(PRELOAD_VARIABLE) == preload:
        yield running
        return
    if not fork_supported() or os.environ.get(NO_FORK_VARIABLE) == "1":
        yield ""
        return
    folder = tempfile.mkdtemp(prefix="noyaux-")  # private (0700): only this user may connect
    path = os.path.join(folder, "serveur")
    environment = {**os.environ, **SINGLE_THREADED}
    environment.pop(SERVER_VARIABLE, None)
    environment.pop(PRELOAD_VARIABLE, None)
    server = subprocess.Popen([sys.executable, "-m", "observatoire.kernels", path, preload], stdin=subprocess.PIPE,
                              cwd=str(paths.ROOT), env=environment, start_new_session=True)
    previous = {v: os.environ.get(v) for v in (SERVER_VARIABLE, PRELOAD_VARIABLE)}
    os.environ[SERVER_VARIABLE], os.environ[PRELOAD_VARIABLE] = path, preload
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(path):  # bound before preloading: clients wait in its queue
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("le serveur de noyaux Jupyter n'a pas démarré")
            time.sleep(0.01)
        yield path
    finally:
        for variable, value in previous.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value
        # Their kernels have been shut down by their clients; they may still be preparing.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.stdin.close()
        server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def crashed_kernels(socket_path: str) -> dict[int, tuple[int, str]]:
    """pid → (exit status, last line of its error output, or "") of the kernels of a running
    server that ended with a non-zero status."""
    folder = Path(socket_path).parent
    found = {}
    for f in folder.glob(f"{STATUS_PREFIX}*"):
        with contextlib.suppress(ValueError, OSError):
            code = int(f.read_text())
            if code:
                pid = int(f.name[len(STATUS_PREFIX):])
                said = ""
                with contextlib.suppress(OSError):
                    lines = (folder / f"{ERRORS_PREFIX}{pid}").read_text(errors="replace").strip().splitlines()
                    said = lines[-1].strip() if lines else ""
                found[pid] = (code, said)
    return found


def provisioner_environment() -> dict[str, str]:
    """Environment variables that make jupyter_client start kernels through the server, for a
    process started (or forked) inside :func:`kernel_server`; empty when no server runs."""
    socket_path = os.environ.get(SERVER_VARIABLE)
    if not socket_path:
        return {}
    return {SERVER_VARIABLE: socket_path, PRELOAD_VARIABLE: os.environ.get(PRELOAD_VARIABLE, ""),
            "JUPYTER_DEFAULT_PROVISIONER_NAME": PROVISIONER_NAME}


# --- the client side: the kernel provisioner ---------------------------------------------------

def _connection_file(cmd: list[str]) -> str | None:
    """The connection file of a standard ipykernel command line, else None."""
    if "ipykernel_launcher" not in cmd and "ipykernel" not in cmd:
        return None
    with contextlib.suppress(ValueError, IndexError):
        return cmd[cmd.index("-f") + 1]
    return None


def request_kernel(socket_path: str, connection_file: str, env: dict[str, str], cwd: str) -> int | None:
    """Ask the server for a kernel; return its pid, or None if the server refuses to fork."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(socket_path)
        client.sendall(json.dumps({"connexion": connection_file, "env": env, "cwd": cwd}).encode() + b"\n")
        answer = client.makefile("rb").readline()
    if not answer:
        raise RuntimeError("le serveur de noyaux Jupyter n'a pas répondu")
    return json.loads(answer).get("pid")


def _provisioner_base():
    from jupyter_client.provisioning import LocalProvisioner

    return LocalProvisioner


class ForkProvisioner(_provisioner_base()):
    """A kernel provisioner that obtains the kernel process from the kernel server.

    Ports, connection file and clean-up are jupyter_client's local provisioner's (the parent
    class); the process part of the provisioner interface — launch, poll, wait, signals — is
    implemented here for a forked kernel, which is a child of the server, not of this process:
    it is watched through its pid, and its exit status is read from the server's record. When no
    server runs, or the server refuses (not single-threaded), the kernel starts the usual way.
    """

    forked_pid: int | None = None
    socket_path: str | None = None
    returncode: int | None = None

    @property
    def has_process(self) -> bool:
        return self.forked_pid is not None or super().has_process

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """Under a kernel server, the kernel's channels are Unix sockets in the server's private
        folder (``ipc`` transport, a documented option of jupyter_client's connection files),
        named after this kernel alone: no TCP port that a kernel started at the same moment by
        another worker process could also pick."""
        km = self.parent
        socket_path = os.environ.get(SERVER_VARIABLE)
        if km is not None and socket_path and os.path.exists(socket_path) and km.transport == "tcp":
            import uuid

            km.transport = "ipc"
            km.cache_ports = False  # jupyter_client's port cache is for TCP ports
            km.ip = str(Path(socket_path).parent / f"noyau-{uuid.uuid4().hex[:16]}")
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        connection_file = _connection_file(cmd)
        socket_path = os.environ.get(SERVER_VARIABLE)
        if connection_file and socket_path and os.path.exists(socket_path):
            env = dict(kwargs.get("env") or os.environ)
            for variable in (SERVER_VARIABLE, PRELOAD_VARIABLE, "JUPYTER_DEFAULT_PROVISIONER_NAME"):
                env.pop(variable, None)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            # A blocking exchange on a local socket, answered at once once the server is ready.
            try:
                pid = request_kernel(socket_path, connection_file, env, cwd)
            except (OSError, RuntimeError, ValueError):  # the server is gone (its preload failed, or it
                pid = None  # was stopped): this kernel starts the usual way
            if pid is not None:
                self.forked_pid, self.socket_path, self.returncode = pid, socket_path, None
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    def _status(self) -> int | None:
        """The exit status the server recorded, waiting a moment for the record to appear."""
        record = Path(self.socket_path).parent / f"{STATUS_PREFIX}{self.forked_pid}"
        deadline = time.monotonic() + 1.0
        while not record.exists():
            if time.monotonic() > deadline or not os.path.exists(self.socket_path):
                return 255  # the server is gone: the status is lost with it
            time.sleep(0.01)
        return int(record.read_text())

    async def poll(self) -> int | None:
        if self.forked_pid is None:
            return await super().poll()
        if self.returncode is None:
            try:
                os.kill(self.forked_pid, 0)
            except ProcessLookupError:
                self.returncode = self._status()
        return self.returncode

    async def wait(self) -> int | None:
        if self.forked_pid is None:
            return await super().wait()
        import asyncio

        while await self.poll() is None:
            await asyncio.sleep(0.02)
        return self.returncode

    async def send_signal(self, signum: int) -> None:
        if self.forked_pid is None:
            return await super().send_signal(signum)
        if await self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.forked_pid, signum)  # its own group (setsid)

    async def kill(self, restart: bool = False) -> None:
        if self.forked_pid is None:
            return await super().kill(restart)
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        if self.forked_pid is None:
            return await super().terminate(restart)
        await self.send_signal(signal.SIGTERM)

    async def get_provisioner_info(self) -> dict[str, Any]:
        info = await super().get_provisioner_info()
        if self.forked_pid is not None:
            info.update({"pid": self.forked_pid, "pgid": self.forked_pid, "serveur": self.socket_path})
        return info


if __name__ == "__main__":
    # jsonschema (imported with nbformat by ipykernel's dependencies) would compile the Lark
    # grammars of rfc3987_syntax, 1.5 s, for two IRI format checks the kernels never use: this
    # server's own process goes without them, as where that package is not installed.
    sys.modules.setdefault("rfc3987_syntax", None)
    serve(sys.argv[1], sys.argv[2])
