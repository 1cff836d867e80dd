"""The Ray engine: a batch's transcriptions on Ray actors, on a local Ray instance or a cluster.

``starcoach analyse ... --engine ray [--ray-address ADDRESS]``.  Everything
but where transcription runs is the batch's own (``pipeline.batch``): the
plan, the transcript cache, the output order, storage and the summary.

- Each actor makes its transcriber (loads the model) once and transcribes
  file after file, one at a time, largest file first
  (``engine.longest_first``); results come back as plain data.
- An actor that dies (killed, out of memory) costs only the file it was on:
  that file goes back to the front of the queue once, for whichever actor
  is free next (a new one takes the dead one's place); a second death on
  it makes it an error object and the batch goes on.
- With no address, a private local instance (:func:`local_instance`):
  bound to the loopback address only, no dashboard, no usage statistics,
  every HTTP request its own processes try refused before it leaves
  (Ray's head probes cloud metadata addresses even with statistics off),
  its session folder in a temp folder removed at the end, its auth token
  in the environment rather than ``~/.ray``.  With an address (``auto``,
  ``HOST:PORT``, ``ray://HOST:PORT``) it joins that cluster, whose
  settings are its operator's (docs/scale.md).
- If Ray is already initialised in this process, that instance is used
  and left running (a program, or the tests, that manages Ray itself).

Inputs are paths every node must see (a shared filesystem): a worker that
cannot read one says so in the file's error, naming the node.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import shutil
import socket
import tempfile
from collections import deque
from typing import Iterator, Optional

from starcoach.edges import TranscriberFactory
from starcoach.errors import UsageError
from starcoach.pipeline.engine import Deliver, cores, longest_first, transcribe_one, worker_died
from starcoach.text import first_line

INSTALL_HINT = "--engine ray needs Ray, an optional extra: pip install 'starcoach[ray]'"
#: How often the wait for results wakes up, so that Ctrl-C is handled at once.
WAIT_S = 0.25
AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


def check_installed() -> None:
    """Raise a one-line :class:`UsageError` saying how to install Ray if it is not importable."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise UsageError(INSTALL_HINT)


def _ray():
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


def _quiet_environment(local: bool, refuse_port: Optional[int]) -> dict[str, str]:
    """The variables Ray reads at start-up: no usage statistics; for a local instance, loopback only."""
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    if local:
        jail = f"http://127.0.0.1:{refuse_port}"
        env.update({
            # Every node address Ray picks is 127.0.0.1 (its switch for single-machine use).
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            # A token for this instance only (Ray turns token auth on for a new instance), never
            # written to ~/.ray/auth_token.
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
            # Python HTTP clients in Ray's processes go through a port that refuses (Ray's own gRPC
            # ignores these variables); loopback stays direct.
            "http_proxy": jail, "https_proxy": jail, "HTTP_PROXY": jail, "HTTPS_PROXY": jail,
            "no_proxy": "127.0.0.1,localhost,::1", "NO_PROXY": "127.0.0.1,localhost,::1",
        })
    return env


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """``env`` set for the block; afterwards these and the variables Ray sets for itself are as they were."""
    saved = {k: os.environ.get(k) for k in (*env, "RAY_AUTH_MODE")}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def local_instance(num_cpus: int) -> Iterator[None]:
    """A private Ray instance on this machine for the duration of the block (see the module's docstring).

    Ray reads some of these variables when it is first imported, so a process that imported
    it before (and had them unset) gets a local instance on this machine's network address
    instead of loopback.
    """
    check_installed()
    temp = _session_folder()
    refuse = socket.socket()  # bound, never listening: a connection to it is refused at once
    refuse.bind(("127.0.0.1", 0))
    try:
        with _environment(_quiet_environment(True, refuse.getsockname()[1])):
            ray = _ray()
            with _quiet(AUTH_LOGGER):  # "token authentication is enabled": for this private instance, said here
                ray.init(num_cpus=num_cpus, include_dashboard=False, _temp_dir=temp, log_to_driver=False,
                         logging_level=logging.WARNING, namespace="starcoach")
            try:
                yield
            finally:
                ray.shutdown()
    finally:
        refuse.close()
        shutil.rmtree(temp, ignore_errors=True)


#: What Ray adds below its temp folder for its longest socket path ("/session_<date>_<pid>/sockets/plasma_store"),
#: with room for a longer pid; a Unix socket path holds at most 107 bytes.
_SOCKET_SUFFIX = 66


def _session_folder() -> str:
    """A new folder for Ray's session files: in the temp folder, or /tmp if that path is too long for sockets."""
    for base in dict.fromkeys((tempfile.gettempdir(), "/tmp")):
        if os.path.isdir(base) and os.access(base, os.W_OK):
            folder = tempfile.mkdtemp(prefix="starcoach-ray-", dir=base)
            if len(os.fsencode(folder)) + _SOCKET_SUFFIX <= 107:
                return folder
            os.rmdir(folder)
    raise UsageError(f"the temp folder's path is too long for Ray's sockets ({tempfile.gettempdir()}): "
                     f"set TMPDIR to a shorter one")


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


@contextlib.contextmanager
def joined(address: str) -> Iterator[None]:
    """Connected to the Ray cluster at ``address`` for the duration of the block."""
    with _environment(_quiet_environment(False, None)):
        ray = _ray()
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, namespace="starcoach")
        except Exception as e:  # ConnectionError, a missing client package, a version mismatch...
            raise UsageError(f"cannot join the Ray cluster at {address}: {first_line(e)}") from None
        try:
            yield
        finally:
            ray.shutdown()


@functools.lru_cache(maxsize=1)
def _actor_class():
    ray = _ray()

    @ray.remote(max_restarts=0, max_task_retries=0)
    class TranscribeActor:
        """One Ray worker: its transcriber made (the model loaded) once, then file after file."""

        def __init__(self, factory: TranscriberFactory, threads: int):
            self.node = socket.gethostname()
            self.transcriber = factory(cpu_threads=threads)

        def pid(self) -> int:
            return os.getpid()

        def transcribe(self, path: str) -> dict:
            if not os.access(path, os.R_OK):
                return {"error": ["unreadable", f"{path}: cannot be read on the Ray node {self.node} (inputs must "
                                                f"be on a filesystem every node sees)"]}
            return transcribe_one(self.transcriber, path)

    return TranscribeActor


class RayEngine:
    """Satisfies ``pipeline.engine.Engine``: transcription on Ray actors (see the module's docstring)."""

    def __init__(self, address: Optional[str] = None, workers: Optional[int] = None):
        self.address = address
        self.requested = workers

    def workers_for(self, n_audio: int) -> int:
        """Actors for ``n_audio`` files: --workers, else one per core here or per CPU of the cluster."""
        if self.address is None and not self._initialised():
            return max(1, min(self.requested or cores(), n_audio or 1))
        return max(1, min(self.requested or n_audio or 1, n_audio or 1))  # the cluster's CPUs: known once joined

    def describe(self, n_audio: int) -> str:
        if self.address is not None:
            return f"Ray actors on the cluster at {self.address}"
        if self._initialised():
            return "Ray actors on the running Ray instance"
        return f"a local Ray instance ({self.workers_for(n_audio)} actor(s))"

    @staticmethod
    def _initialised() -> bool:
        ray = __import__("sys").modules.get("ray")
        return ray is not None and ray.is_initialized()

    def _connection(self, n: int):
        if self._initialised():
            return contextlib.nullcontext()
        if self.address is not None:
            return joined(self.address)
        return local_instance(self.workers_for(n))

    def run(self, factory: TranscriberFactory, paths: list[str], deliver: Deliver) -> None:
        with self._connection(len(paths)):
            self._run(factory, paths, deliver)

    def _run(self, factory: TranscriberFactory, paths: list[str], deliver: Deliver) -> None:
        ray = _ray()
        from ray.exceptions import RayActorError

        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        biggest = max([int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")] or [1])
        n_actors = max(1, min(self.requested or cpus, len(paths)))
        threads = max(1, min(cpus // n_actors, biggest))
        actor_class = _actor_class().options(num_cpus=threads)

        def new_actor():
            return actor_class.remote(factory, threads)

        actors = [new_actor() for _ in range(n_actors)]
        idle = list(actors)
        queue = deque(longest_first(paths))
        tries = [0] * len(paths)
        running: dict = {}  # ObjectRef -> (actor, index)
        try:
            while queue or running:
                while queue and idle:
                    actor, i = idle.pop(), queue.popleft()
                    tries[i] += 1
                    running[actor.transcribe.remote(paths[i])] = (actor, i)
                ready, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_S)
                for ref in ready:
                    actor, i = running.pop(ref)
                    try:
                        out = ray.get(ref)
                    except RayActorError as e:
                        if getattr(e, "actor_init_failed", False):
                            raise UsageError(f"a Ray worker could not start: {_cause(e)}") from None
                        actors.remove(actor)
                        replacement = new_actor()  # the dead one's place, so the batch keeps its width
                        actors.append(replacement)
                        idle.append(replacement)
                        if tries[i] < 2:
                            queue.appendleft(i)  # once more, on whichever worker is free next
                            continue
                        out = worker_died(paths[i], "its Ray worker died, twice")
                    else:
                        idle.append(actor)
                    deliver(i, out)
        finally:  # done, Ctrl-C or a failure: no actor is left holding a model
            for actor in actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor, no_restart=True)


def _cause(error: BaseException) -> str:
    """The last line of the creation task's error (the exception itself), without Ray's framing."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
