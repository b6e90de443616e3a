"""Benchmark of the built-in local backend against calling its engines directly.

Run:  .venv/bin/python bench/bench_local.py  [--tokens 200] [--runs 3] [--quick]

Measures, on this machine:
  * model load time: in fresh subprocesses (the first one may pay a cold disk cache; later ones show
    "load after first run"), and a reload inside a process whose engine library is already imported;
  * chat: time-to-first-token and tokens/s streamed through the server with huggingface_hub's
    InferenceClient, vs llama_cpp.Llama.create_chat_completion(stream=True) in-process (the floor);
  * embeddings/s through the server (InferenceClient.feature_extraction) vs SentenceTransformer.encode.

  * with --compare-build PATH: the installed (portable) llama.cpp build against another build of the same
    llama-cpp-python found at PATH (e.g. one compiled with native CPU flags, installed with
    `pip install --target PATH`), direct tokens/s, each run in a fresh process, A and B interleaved.

Goals: chat >= 0.9x direct tokens/s; load after first run <= 3 s.
Both sides run the same request (temperature 0.7, seed 1), so they generate the same tokens; rates are
streamed content chunks (~tokens) per second on each side. logit_bias is not used to force the length:
llama-cpp-python applies it through a Python logits processor that itself slows generation by ~40%.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
MESSAGES = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]
SENTENCES = [f"Sentence number {i} talks about topic {i % 7} in a few more words." for i in range(256)]

_LOAD_SNIPPET = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from playground import local_backend
from playground.local_backend import engines
t1 = time.perf_counter()
local_backend.warm({model!r})
t2 = time.perf_counter()
# a second engine instance now that the library is imported: the cost of loading weights alone
slot = engines._slot({model!r})
t3 = time.perf_counter()
engines._ENGINE_CLASSES[slot.model.engine](slot.model)
t4 = time.perf_counter()
print(json.dumps({{"import_pkg": t1 - t0, "warm": t2 - t1, "reload_in_process": t4 - t3}}))
"""


_BUILD_SNIPPET = r"""
import json, sys, time
if {path!r}:
    sys.path.insert(0, {path!r})
sys.path.insert(1, {root!r})
import llama_cpp
from playground.local_backend import discovery, engines
llm = llama_cpp.Llama(model_path=discovery.find({model!r}).path, n_ctx=engines.LLAMA_N_CTX,
                      n_threads=engines.LLAMA_N_THREADS, n_threads_batch=engines.LLAMA_N_THREADS, verbose=False)
messages = {messages!r}
list(llm.create_chat_completion(messages, max_tokens=8, stream=True, seed=1))  # warm-up
t0, n, first = time.perf_counter(), 0, None
for chunk in llm.create_chat_completion(messages, max_tokens={tokens}, stream=True, temperature=0.7, seed=1):
    if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
        n += 1
        first = first or time.perf_counter()
t1 = time.perf_counter()
info = llama_cpp.llama_print_system_info().decode()
print(json.dumps({{"tok_s": n / (t1 - t0), "decode_tok_s": (n - 1) / (t1 - first), "tokens": n,
                   "file": llama_cpp.__file__, "avx512": "AVX512 = 1" in info}}))
"""


def bench_builds(other: str, tokens: int, runs: int) -> dict:
    """The installed build (A) against the build at ``other`` (B): fresh processes, A B A B..., tokens/s."""
    rows: dict[str, list[dict]] = {"installed": [], "other": []}
    for i in range(runs * 2):
        side = ("installed", "other")[(i + i // 2) % 2]  # A B B A A B ...: neither side always goes first
        code = _BUILD_SNIPPET.format(path="" if side == "installed" else other, root=str(ROOT), model=LLM,
                                     messages=MESSAGES, tokens=tokens)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        rows[side].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    pairs = [b["tok_s"] / a["tok_s"] for a, b in zip(rows["installed"], rows["other"])]
    print(f"\n== Engine builds, direct llama.cpp, {tokens} tokens, {runs} fresh processes each, interleaved")
    for side, samples in rows.items():
        rates = sorted(s["tok_s"] for s in samples)
        print(f"  {side:9s} {statistics.median(rates):7.1f} tok/s end-to-end (min {rates[0]:.1f}, max {rates[-1]:.1f})"
              f"   decode {statistics.median(s['decode_tok_s'] for s in samples):7.1f} tok/s"
              f"   AVX-512 in build: {samples[0]['avx512']}   {samples[0]['file']}")
    print(f"  other/installed tokens/s: median {statistics.median(pairs):.3f} (min {min(pairs):.3f}, max {max(pairs):.3f})")
    return rows


def _fmt(x: float, unit: str = "s") -> str:
    return f"{x:7.3f} {unit}" if unit == "s" else f"{x:8.1f} {unit}"


def bench_loads(runs: int) -> dict:
    results: dict[str, list[dict]] = {}
    for model in (LLM, EMBEDDER):
        results[model] = []
        for _ in range(runs):
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", _LOAD_SNIPPET.format(root=str(ROOT), model=model)],
                capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=True,
            )
            wall = time.perf_counter() - started
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            data["process_wall"] = wall
            results[model].append(data)
    print("\n== Model load (fresh subprocess per run; warm() = import engine library + load weights)")
    for model, rows in results.items():
        for i, row in enumerate(rows):
            label = "first" if i == 0 else f"later #{i}"
            print(f"  {model:42s} {label:9s} warm() {_fmt(row['warm'])}   "
                  f"weights only (reload in process) {_fmt(row['reload_in_process'])}   "
                  f"whole subprocess {_fmt(row['process_wall'])}")
    return results


def _direct_chat(llm, tokens: int) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    first = None
    n = 0
    for chunk in llm.create_chat_completion(MESSAGES, max_tokens=tokens, stream=True, temperature=0.7, seed=1):
        if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
            n += 1
            if first is None:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return first or total, total, n, n


def _server_chat(client, tokens: int) -> tuple[float, float, int, int]:
    started = time.perf_counter()
    first = None
    usage = None
    n = 0
    for chunk in client.chat_completion(
        MESSAGES, model=LLM, max_tokens=tokens, stream=True, temperature=0.7, seed=1,
        stream_options={"include_usage": True},
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            n += 1
            if first is None:
                first = time.perf_counter() - started
        if chunk.usage:
            usage = chunk.usage
    total = time.perf_counter() - started
    return first or total, total, n, usage.completion_tokens if usage else -1


def bench_chat(tokens: int, runs: int) -> dict:
    from huggingface_hub import InferenceClient
    from llama_cpp import Llama

    from playground import local_backend
    from playground.local_backend import discovery, engines

    path = discovery.find(LLM).path
    direct = Llama(model_path=path, n_ctx=engines.LLAMA_N_CTX, n_threads=engines.LLAMA_N_THREADS,
                   n_threads_batch=engines.LLAMA_N_THREADS, verbose=False)
    base = local_backend.ensure_running()
    local_backend.warm(LLM)
    client = InferenceClient(base_url=f"{base}/v1")
    _direct_chat(direct, 16)  # warm-up both paths
    _server_chat(client, 16)

    rows = {"direct": [], "server": []}
    for _ in range(runs):  # interleave so drift affects both sides alike
        rows["direct"].append(_direct_chat(direct, tokens))
        rows["server"].append(_server_chat(client, tokens))

    def summary(samples):
        ttft = statistics.median(s[0] for s in samples)
        e2e = statistics.median(s[2] / s[1] for s in samples)
        decode = statistics.median((s[2] - 1) / (s[1] - s[0]) for s in samples)
        return {"ttft": ttft, "tok_s": e2e, "decode_tok_s": decode, "chunks": samples[0][2], "tokens": samples[0][3]}

    out = {k: summary(v) for k, v in rows.items()}
    d, s = out["direct"], out["server"]
    print(f"\n== Chat streaming, {tokens} tokens, median of {runs} (SmolLM2-135M Q4_1, n_threads=2)")
    print(f"  direct llama_cpp      TTFT {_fmt(d['ttft'] * 1000, 'ms')}   {_fmt(d['tok_s'], 'tok/s')} end-to-end"
          f"   {_fmt(d['decode_tok_s'], 'tok/s')} decode   ({d['chunks']} chunks)")
    print(f"  server+InferenceClient TTFT {_fmt(s['ttft'] * 1000, 'ms')}  {_fmt(s['tok_s'], 'tok/s')} end-to-end"
          f"   {_fmt(s['decode_tok_s'], 'tok/s')} decode   ({s['chunks']} chunks, usage.completion_tokens={s['tokens']})")
    ratio = s["tok_s"] / d["tok_s"]
    print(f"  ratio server/direct tokens/s: {ratio:.3f}  (goal >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})"
          f"   TTFT overhead {1000 * (s['ttft'] - d['ttft']):+.1f} ms")
    out["ratio"] = ratio
    del direct
    return out


def bench_embeddings(runs: int) -> dict:
    from huggingface_hub import InferenceClient
    from sentence_transformers import SentenceTransformer

    from playground import local_backend
    from playground.local_backend import discovery

    base = local_backend.ensure_running()
    local_backend.warm(EMBEDDER)
    direct = SentenceTransformer(discovery.find(EMBEDDER).path, device="cpu", local_files_only=True)
    client = InferenceClient()
    url = f"{base}/models/{EMBEDDER}/pipeline/feature-extraction"
    client.feature_extraction(SENTENCES[:8], model=url)
    direct.encode(SENTENCES[:8])

    def timed(fn) -> float:
        best = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            best.append(time.perf_counter() - t)
        return statistics.median(best)

    batch = SENTENCES[:64]
    singles = SENTENCES[:32]
    res = {
        "direct_batch": len(batch) / timed(lambda: direct.encode(batch, show_progress_bar=False)),
        "server_batch": len(batch) / timed(lambda: client.feature_extraction(batch, model=url)),
        "direct_single": len(singles) / timed(lambda: [direct.encode([s], show_progress_bar=False) for s in singles]),
        "server_single": len(singles) / timed(lambda: [client.feature_extraction(s, model=url) for s in singles]),
    }
    print(f"\n== Embeddings (all-MiniLM-L6-v2), median of {runs}")
    print(f"  batch of 64:  direct {_fmt(res['direct_batch'], 'sent/s')}   server {_fmt(res['server_batch'], 'sent/s')}"
          f"   ratio {res['server_batch'] / res['direct_batch']:.3f}")
    print(f"  one per call: direct {_fmt(res['direct_single'], 'sent/s')}   server {_fmt(res['server_single'], 'sent/s')}"
          f"   ratio {res['server_single'] / res['direct_single']:.3f}")
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer runs and tokens")
    parser.add_argument("--compare-build", metavar="PATH",
                        help="only compare the installed llama.cpp build with the one installed at PATH")
    args = parser.parse_args()
    if args.quick:
        args.tokens, args.runs = 64, 2
    os.environ.pop("HF_TOKEN", None)
    if args.compare_build:
        bench_builds(args.compare_build, args.tokens, max(args.runs, 3))
        return

    loads = bench_loads(args.runs)
    chat = bench_chat(args.tokens, args.runs)
    emb = bench_embeddings(args.runs)

    later = [row["warm"] for rows in loads.values() for row in rows[1:]]
    worst_later = max(later) if later else float("nan")
    print("\n== Goals")
    print(f"  chat server/direct tokens/s = {chat['ratio']:.3f}  (>= 0.9)  {'met' if chat['ratio'] >= 0.9 else 'NOT met'}")
    print(f"  slowest load after first run (fresh process warm()) = {worst_later:.2f} s  (<= 3 s)  "
          f"{'met' if worst_later <= 3 else 'NOT met'}")
    reloads = [row["reload_in_process"] for rows in loads.values() for row in rows]
    print(f"  slowest weights-only reload = {max(reloads):.2f} s")
    print(f"  embeddings server/direct (batch 64) = {emb['server_batch'] / emb['direct_batch']:.3f}")

    from playground import local_backend

    local_backend.stop()


if __name__ == "__main__":
    main()
