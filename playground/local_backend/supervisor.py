"""The app's side of the local backend: the engine process, started, watched and restarted.

Native engines (llama.cpp, torch) can die in ways Python cannot catch: SIGILL when a build uses an
instruction the CPU lacks, SIGSEGV, the kernel's OOM killer (SIGKILL). So they never run in the app's
process. ``python -m playground.local_backend`` serves them on 127.0.0.1 in a child process;
this module starts it (once, thread-safe), watches it, and when it dies records why and starts a new
one at once, so the next run succeeds. A run that was talking to the dead process gets a
``LocalEngineError`` naming the cause (see ``stopped_engine`` and ``errors.translate``).

The child exits on its own when the app goes (its stdin, held by the app, reaches EOF).
"""

from __future__ import annotations

import atexit
import http.client
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import discovery as _catalog
from .engines import ModelLoadError, UnknownModelError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding ``playground/``

_SIGNAL_MEANING = {
    signal.SIGILL: "illegal instruction: the engine was built for CPU features this machine lacks",
    signal.SIGSEGV: "segmentation fault in native code",
    signal.SIGBUS: "bus error in native code",
    signal.SIGABRT: "aborted by native code",
    signal.SIGFPE: "arithmetic fault in native code",
    signal.SIGKILL: "killed (SIGKILL), often by the out-of-memory killer",
}


@dataclass(frozen=True)
class EngineExit:
    """How an engine process ended."""

    pid: int
    returncode: int
    at: float  # time.monotonic()

    @property
    def cause(self) -> str:
        if self.returncode < 0:
            try:
                sig = signal.Signals(-self.returncode)
            except ValueError:
                return f"killed by signal {-self.returncode}"
            meaning = _SIGNAL_MEANING.get(sig)
            return f"{sig.name} ({meaning})" if meaning else f"killed by {sig.name}"
        return f"exited with code {self.returncode}"


class _Engine:
    """One engine process."""

    def __init__(self, preload: bool):
        cmd = [sys.executable, "-m", "playground.local_backend"] + (["--preload"] if preload else [])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=_PACKAGE_ROOT)
        port = self._read_port()
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ended = threading.Event()  # set by the watcher, the only thread that waits for the process
        self.exit: EngineExit | None = None

    def _read_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            if not ready:
                self.kill()
                raise RuntimeError(f"The local engine did not start within {START_TIMEOUT_S:.0f} s.")
            piece = os.read(self.proc.stdout.fileno(), 256)
            if not piece:
                code = self.proc.wait()
                raise RuntimeError(f"The local engine could not start: {EngineExit(self.proc.pid, code, 0).cause}.")
            line += piece
        self.proc.stdout.close()
        text = line.decode().strip()
        if not text.startswith("LISTENING "):
            self.kill()
            raise RuntimeError(f"The local engine said {text!r} instead of its port.")
        return int(text.split()[1])

    def alive(self) -> bool:
        # Not Popen.poll(): while the watcher blocks in wait(), poll() from another thread says "running".
        return not self.ended.is_set() and self.proc.returncode is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


_lock = threading.RLock()
_engine: _Engine | None = None
_stopping = False
_last_exit: EngineExit | None = None
_exits: dict[int, EngineExit] = {}  # port -> how the engine that listened there ended
_restarts = 0
_preload = False


def ensure_running(timeout: float = START_TIMEOUT_S) -> str:  # noqa: ARG001 - kept for callers' signature
    """Start the engine process once (thread-safe); return ``http://127.0.0.1:PORT``."""
    global _engine, _stopping
    with _lock:
        _stopping = False
        if _engine is not None and _engine.alive():
            return _engine.base_url
        engine = _Engine(preload=_preload)
        _engine = engine
        _exits.pop(engine.port, None)  # a port reused by the new process says nothing about the old one
        threading.Thread(target=_watch, args=(engine,), name="local-engine-watch", daemon=True).start()
        logger.info("Local engine process %d listening on %s", engine.proc.pid, engine.base_url)
        return engine.base_url


def start_in_background(preload: bool = True) -> threading.Thread:
    """Start the engine process without waiting (app.py, when the first run will be local). With
    ``preload`` the child imports its engines' libraries at once, so a first use loads only weights."""
    global _preload
    _preload = preload

    def start() -> None:
        try:
            ensure_running()
        except Exception:  # noqa: BLE001 - the first local run reports it through the one translation
            logger.exception("The local engine did not start")

    thread = threading.Thread(target=start, name="local-engine-start", daemon=True)
    thread.start()
    return thread


def _watch(engine: _Engine) -> None:
    global _last_exit, _restarts
    code = engine.proc.wait()
    with _lock:
        engine.exit = _exits[engine.port] = EngineExit(engine.proc.pid, code, time.monotonic())
        engine.ended.set()
        if _stopping or engine is not _engine:
            return
        _last_exit = engine.exit
        _restarts += 1
        logger.error("The local engine stopped: %s; restarting it", _last_exit.cause)
    try:
        ensure_running()
    except Exception:  # noqa: BLE001 - the next run tries again and reports why
        logger.exception("The local engine could not be restarted")


def stopped_engine(port: int | None, wait_s: float = 1.0) -> EngineExit | None:
    """After a broken connection to the local backend on ``port``: how its engine ended, if that is why.

    The connection may break a moment before the watcher reaps the process, so wait briefly for it."""
    if port is None:
        return None
    with _lock:
        engine = _engine
        ended = _exits.get(port)
    if ended is not None:
        return ended
    if engine is not None and engine.port == port and engine.ended.wait(wait_s):
        return engine.exit
    return None


def stop(timeout: float = 5.0) -> None:
    """Stop the engine process (a later ``ensure_running`` starts a new one)."""
    global _engine, _stopping
    with _lock:
        _stopping = True
        engine, _engine = _engine, None
    if engine is None:
        return
    if engine.alive():
        engine.proc.terminate()
        try:
            engine.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            engine.kill()


atexit.register(stop)


def base_url() -> str | None:
    """The running engine process's URL, or None."""
    engine = _engine
    return engine.base_url if engine is not None and engine.alive() else None


def pid() -> int | None:
    """The engine process's id (tests kill it to prove the app survives)."""
    engine = _engine
    return engine.proc.pid if engine is not None and engine.alive() else None


def restarts() -> int:
    return _restarts


# ------------------------------------------------------------------------------ engine state over HTTP


def _ask(method: str, path: str, timeout: float) -> dict:
    base = ensure_running()
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = json.loads(response.read() or b"{}")
    finally:
        conn.close()
    if response.status == 404:
        raise UnknownModelError(path.rsplit("/", 2)[-1])
    if response.status >= 400:
        raise ModelLoadError(body.get("error") or f"HTTP {response.status}")
    return body


def _checked(model_id: str) -> str:
    if _catalog.find(model_id) is None:
        raise UnknownModelError(model_id)
    return model_id


def state(model_id: str) -> dict:
    """{"state": "not loaded" | "loading" | "ready" | "failed: …", "load_seconds": …, "busy": …}"""
    return _ask("GET", f"/local/state/{_checked(model_id)}", timeout=10)


def load_state(model_id: str) -> str:
    """"not loaded" | "loading" | "ready" | "failed: <reason>". Raises UnknownModelError if not served."""
    return state(model_id)["state"]


def load_seconds(model_id: str) -> float | None:
    """How long the (single) load of ``model_id`` took in the current engine process, once it is ready."""
    return state(model_id)["load_seconds"]


def busy(model_id: str) -> bool:
    """Whether the model is generating right now."""
    return bool(state(model_id)["busy"])


def warm(model_id: str) -> None:
    """Load ``model_id`` now (blocking). Instant if already loaded; a failed load is retried."""
    _ask("POST", f"/local/load/{_checked(model_id)}", timeout=600)
