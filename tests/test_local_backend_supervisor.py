"""The local engine runs in a child process the app supervises: a native crash there never kills the app.

Real engine process, real SmolLM2, real InferenceClient through the chat tab's Run handler; the engine is
killed with SIGILL (what a build for the wrong CPU dies of) and SIGKILL (the OOM killer) mid-reply.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from playground import handlers, local_backend
from playground.tasks import TASKS

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

LLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
ROOT = Path(__file__).resolve().parents[1]
NO_EOS = json.dumps({"logit_bias": {"0": -100, "2": -100}})  # only a kill can end this reply early


def chat_steps(message: str, history: list | None = None, max_tokens: int = 1500, extra: str = NO_EOS):
    """The chat tab's Run handler, called as Gradio calls it (every input by name, the rest None)."""
    handler = handlers.handler_for(TASKS["chat-completion"])
    values = dict(provider="local", model=LLM, revision="main", history=history or [],
                  message={"text": message, "files": []}, max_tokens=max_tokens, extra_parameters=extra)
    return handler(*[values.get(name) for name in inspect.signature(handler).parameters])


@pytest.fixture(scope="module")
def engine(fake_hf):  # noqa: ARG001 - the app's capturing client, as in the app
    local_backend.ensure_running()
    local_backend.warm(LLM)
    return local_backend


def test_the_engine_runs_in_its_own_process(engine):
    pid = engine.pid()
    assert pid and pid != os.getpid()
    assert engine.load_state(LLM) == "ready"
    assert "llama_cpp" not in sys.modules or os.environ.get("PYTEST_XDIST_WORKER"), \
        "llama.cpp was loaded into the test (app) process"


@pytest.mark.parametrize("sig", [signal.SIGILL, signal.SIGKILL], ids=["SIGILL", "SIGKILL"])
def test_engine_crash_mid_reply_is_an_error_in_the_tab_and_the_next_message_is_answered(engine, sig):
    pid = engine.pid()
    steps = chat_steps("Count from one to a thousand in words.")
    killed = False
    last = None
    for last in steps:
        history, _box, status, _raw = last
        if not killed and status.startswith("⏳ Streaming") and len(history[-1]["content"]) > 40:
            os.kill(pid, sig)
            killed = True
    assert killed, "the reply never streamed"
    history, box, status, raw = last
    name = sig.name
    assert f"The local engine stopped: {name}" in status and "it is restarting" in status
    partial = history[-1]["content"]
    assert len(partial) > 40 and partial.endswith(handlers.TRUNCATED), "the partial reply was not kept"
    events = json.loads(raw)["exchanges"][-1]["response"]["body"]["sse_events"]
    received = "".join((e.get("choices") or [{}])[0].get("delta", {}).get("content") or "" for e in events)
    assert len(received) > 40 and partial.startswith(received[:40]), "the raw exchange lost what arrived"

    # The app is alive (we are it), the engine came back on a new pid, and the next message is answered.
    steps = list(chat_steps("Say hello.", history=history, max_tokens=8, extra=""))
    history2, _box, status2, _raw = steps[-1]
    assert "served by local" in status2, status2
    assert history2[-1]["content"].strip() and not history2[-1]["content"].endswith(handlers.TRUNCATED)
    assert engine.pid() not in (None, pid)
    assert engine.restarts() >= 1


def test_the_engine_leaves_when_the_app_dies():
    """SIGKILL the app: its engine process notices (stdin EOF) and exits instead of lingering."""
    code = (
        "from playground import local_backend as lb\n"
        "lb.ensure_running(); print(lb.pid(), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    app = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(app.stdout.readline())
    app.kill()
    app.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the engine process outlived the app")


def test_the_installed_engine_is_the_portable_build():
    """The llama.cpp that pip compiled must not use CPU features beyond the portable baseline (no
    AVX-512, no AMX): a -march=native build dies with SIGILL on other machines. Read in a child process."""
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    info = out.stdout
    features = {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in info.split("|") if "=" in p)}
    assert features, info
    enabled = {k for k, v in features.items() if v == "1"}
    x86 = {"SSE3", "SSSE3", "AVX", "AVX_VNNI", "AVX2", "F16C", "FMA", "BMI2", "AVX512", "AVX512_VBMI",
           "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"}
    portable = {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}  # x86-64-v3, the Makefile's baseline
    beyond = sorted((enabled & x86) - portable)
    assert not beyond, f"llama.cpp was built with {beyond}: not portable; rebuild it with `make clean test`"
