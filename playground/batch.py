"""Batch: one task over a whole dataset, within rate limits, resumable, its results and checks derived from the
ledger.

    read_data(name, bytes)  ->  Dataset            CSV, TSV, JSONL, Parquet, or a zip of media with a CSV naming them
    read_hub(repo, split, config, path, revision, token) -> HubData   a Hub dataset's split (or one of its files), at
                                                   a commit, as its card's ``configs:`` (or the Hub's layout) says
    auto_map(task, columns) ->  {input: column}    by name; the page lets the person change it
    Spec(task, targets, mapping, ...)              what to run; kept in the ledger (``ledger_batches``) with the file
    plan(spec, dataset, owner)  ->  Plan           requests, estimated duration and cost, cells that will fail
    start(spec, dataset, owner_state, token)  ->  Job      a background job: every row through ``service.run``
    results(owner, batch_id)  ->  Results          the table and the checks, read back from the ledger

Every row's run is one ledger record (source ``batch``, with the batch id and its row key), so a batch that
stops (pause, cancel, a restart, a closed browser) resumes where it stopped: the rows whose last record
succeeded, or failed for good (bad input, 4xx), are never sent again; a row that ran out of retries on a
transient failure (429, 5xx, timeout) is sent again. Nothing here keeps a copy of a run.

Bundling: for a task whose InferenceClient call takes a list (``Task.bundles``: feature extraction), ``bundle`` rows
of one target go in one request (``service.run_bundle``), each row still its own ledger record (its share of the
latency, a note that it was bundled); a gate's place is one request, whatever its rows.

Concurrency is adaptive (``Gate``, one per provider and token, like ``reliability.HEALTH``): it starts at the
batch's concurrency; a row that met a 429 halves it and makes new rows wait out the cooldown that the
reliability layer started from the answer's Retry-After; every row without one adds 1/limit (one more place
per window of successes), up to where it started. A halving is checked by a probe: refusals that do not fall
when fewer rows are sent are not a limit, and the halving is undone (``Gate``'s docstring). The rows themselves retry as every run does
(``reliability.Failover``); a row that still failed on a transient error goes back in the queue (up to
``REQUEUE`` times).

The spend guard: a batch started (or resumed) from the page carries the browser's budgets (``spend_guard.Guard``)
in every row's request. ``plan`` says when the batch's estimated cost would pass a budget; a row the service holds
back is not sent and not recorded, and the batch pauses there with the reason (``Job.message``): raise the budget,
then Resume (the held-back row goes first).

The token lives in the job only (``service.Target``, never in its repr), for as long as the job runs: after a
restart, the person pastes it again to resume.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import threading
import time
import uuid
import zipfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, Callable, Iterator

from . import ledger, owners, reliability, service, spend_guard
from .errors import InputError
from .ledger import cost as ledger_cost
from .ledger.store import percentile
from .tasks import TASKS, Input, Task

__all__ = [
    "Dataset", "HubData", "CardConfig", "Target", "Spec", "Plan", "Progress", "Job", "Gate", "Results",
    "read_data", "read_hub", "hub_configs", "card_configs", "split_files", "auto_map", "plan", "start", "resume", "job",
    "results", "export",
    "word_error_rate", "summarise_output", "bundling_tasks", "bundling_providers", "MAX_FILE_BYTES", "MAX_ROWS",
    "MAX_TARGETS", "MAX_BUNDLE", "SUFFIXES",
]

MAX_FILE_BYTES = 50 * 1024 * 1024  # an upload (a zip's members together too)
MAX_ROWS = 100_000
MAX_TARGETS = 4
MAX_BUNDLE = 64  # rows in one request, for a task that bundles
REQUEUE = 5  # a row that keeps failing on transient errors is sent again at most this many times
SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".zip")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
TRANSIENT = frozenset({"rate_limit", "server", "timeout", "network"})  # error kinds a resumed batch sends again
MEDIA = ("image", "audio")

# Column names a task input is matched to when no column has its own name (lower case, "_" for spaces).
SYNONYMS = {
    "text": ("text", "sentence", "input", "inputs", "content", "review", "ticket", "body", "prompt", "message"),
    "prompt": ("prompt", "text", "input", "inputs", "instruction", "question", "message"),
    "messages": ("messages", "prompt", "message", "question", "text", "input", "instruction"),
    "image": ("image", "image_file", "image_path", "file", "filename", "file_name", "path", "picture"),
    "audio": ("audio", "audio_file", "audio_path", "file", "filename", "file_name", "path", "recording"),
    "sentence": ("sentence", "source_sentence", "text", "query"),
    "other_sentences": ("other_sentences", "sentences", "candidates"),
    "candidate_labels": ("candidate_labels", "labels", "candidates"),
    "question": ("question", "query", "q"),
    "query": ("query", "question", "q"),
    "context": ("context", "passage", "document"),
}
EXPECTED_NAMES = ("expected", "expected_label", "label", "labels_true", "gold", "target", "reference", "answer",
                  "truth", "ground_truth", "transcript", "transcription")


# ------------------------------------------------------------------------------------------ data


@dataclass
class Dataset:
    """A data file read: its rows (cells as read: text from CSV/TSV, JSON values from JSONL and Parquet) and,
    for a zip, its media files by name."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict, repr=False)

    def preview(self, n: int = 10) -> list[list[str]]:
        return [[_cell_text(row.get(c)) for c in self.columns] for row in self.rows[:n]]


def _cell_text(value: Any, limit: int = 200) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bad(title: str, detail: str, fix: str) -> InputError:
    return InputError(title, detail, fix)


def read_data(name: str, data: bytes) -> Dataset:
    """Read an uploaded data file by its name's suffix. Raises InputError naming the problem and the fix."""
    name = PurePosixPath(str(name).replace("\\", "/")).name or "data"
    suffix = PurePosixPath(name.lower()).suffix
    if suffix not in SUFFIXES:
        raise _bad(f"{name}: not a file the batch reads", f"Its name ends in '{suffix or '(nothing)'}'.",
                   "Upload a .csv, .tsv, .jsonl, .parquet file, or a .zip of images or audio with a CSV naming them.")
    if len(data) > MAX_FILE_BYTES:
        raise _bad(f"{name} is too large", f"{len(data) / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB.",
                   "Split it into smaller files, one batch each.")
    if not data.strip():
        raise _bad(f"{name} is empty", "The file has no content.", "Upload a file with a header and rows.")
    if suffix == ".zip":
        return _read_zip(name, data)
    columns, rows = _read_table(name, suffix, data)
    if not rows:
        raise _bad(f"{name} has no rows", f"Columns: {', '.join(columns) or '(none)'}.", "Add at least one row.")
    if len(rows) > MAX_ROWS:
        raise _bad(f"{name} has too many rows", f"{len(rows):,} rows; the limit is {MAX_ROWS:,}.", "Split it.")
    return Dataset(name, columns, rows)


def _text_of(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise _bad(f"{name} is not a text file", "It holds binary data (NUL bytes), not what its name says.",
                   "Upload the file as it is named, or rename it to what it is (.parquet, .zip).")
    try:
        return data.decode("utf-8-sig")  # a BOM (Excel's CSV) is dropped
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _bad(f"{name} is not UTF-8 text", f"Byte 0x{data[err.start]:02x} at line {line} is not UTF-8.",
                   "Save it as UTF-8 (in Excel: 'CSV UTF-8'; elsewhere: iconv -f latin1 -t utf-8).") from None


def _read_table(name: str, suffix: str, data: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    if suffix == ".parquet":
        return _read_parquet(name, data)
    text = _text_of(name, data)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(name, text)
    delimiter = "\t" if suffix == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        table = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as err:
        raise _bad(f"{name} is not a valid {suffix[1:].upper()} file", f"Line {reader.line_num}: {err}.",
                   "Fix the quoting on that line.") from None
    if not table:
        raise _bad(f"{name} is empty", "It has no header line.", "Put the column names on the first line.")
    header = [h.strip() for h in table[0]]
    if not all(header):
        raise _bad(f"{name} has a column without a name", f"Header: {table[0]}.", "Name every column on line 1.")
    if len(set(header)) != len(header):
        raise _bad(f"{name} has two columns with the same name", f"Header: {header}.", "Rename one of them.")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if len(cells) > len(header):
            raise _bad(f"{name}: line {number} has more cells than the header", f"{len(cells)} cells, "
                       f"{len(header)} columns.", f"Quote cells that contain '{'TAB' if delimiter == chr(9) else ','}'.")
        rows.append({h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)})
    return header, rows


def _read_jsonl(name: str, text: str) -> tuple[list[str], list[dict[str, Any]]]:
    rows, columns = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise _bad(f"{name}: line {number} is not JSON", f"{err.msg} at column {err.colno}.",
                       "Each line of a JSONL file is one JSON object.") from None
        if not isinstance(row, dict):
            raise _bad(f"{name}: line {number} is not a JSON object", f"It is a {type(row).__name__}.",
                       'Write each row as {"column": value, ...}.')
        columns.update(dict.fromkeys(str(k) for k in row))
        rows.append({str(k): v for k, v in row.items()})
    return list(columns), rows


def _read_parquet(name: str, data: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise _bad(f"{name} is not a Parquet file", "Parquet files start and end with 'PAR1'.",
                   "Upload the file as it is named, or rename it to what it is (.csv, .jsonl).")
    import pandas as pd

    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as err:  # pyarrow's errors have no common base worth naming
        raise _bad(f"{name} cannot be read as Parquet", str(err)[:300], "Write it again (pandas: df.to_parquet).") from None
    frame = frame.astype(object).where(frame.notna(), None)
    rows = [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return [str(c) for c in frame.columns], rows


def _plain(value: Any) -> Any:
    """A Parquet cell as JSON: numpy arrays as lists, numpy numbers as numbers."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _read_zip(name: str, data: bytes) -> Dataset:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _bad(f"{name} is not a zip file", "It cannot be opened as a zip archive.",
                   "Upload the file as it is named, or zip the folder again.") from None
    members = [m for m in archive.infolist() if not m.is_dir() and not PurePosixPath(m.filename).name.startswith(".")
               and "__MACOSX" not in m.filename]
    if sum(m.file_size for m in members) > MAX_FILE_BYTES:
        raise _bad(f"{name} is too large unpacked", f"Its files hold {sum(m.file_size for m in members) / 1e6:.0f} MB; "
                   f"the limit is {MAX_FILE_BYTES / 1e6:.0f} MB.", "Split it into smaller zips.")
    tables = [m for m in members if PurePosixPath(m.filename.lower()).suffix in TABLE_SUFFIXES]
    if len(tables) != 1:
        found = ", ".join(m.filename for m in tables) or "none"
        raise _bad(f"{name} needs exactly one table naming its files", f"Tables found: {found}.",
                   "Put one CSV (or TSV, JSONL) in the zip, with a column naming each image or audio file.")
    table = tables[0]
    inner = read_data(PurePosixPath(table.filename).name, archive.read(table))
    base = PurePosixPath(table.filename).parent
    files: dict[str, bytes] = {}
    for member in members:
        if member is table:
            continue
        path = PurePosixPath(member.filename)
        payload = archive.read(member)
        files[str(path)] = payload
        if base != PurePosixPath("."):
            files.setdefault(str(path.relative_to(base)) if path.is_relative_to(base) else str(path), payload)
        files.setdefault(path.name, payload)
    named = _named_files(inner, files)
    missing = sorted({v for vs in named.values() for v in vs if v not in files})
    if not named:
        raise _bad(f"{name}: no column names the files in the zip", f"Columns: {', '.join(inner.columns)}.",
                   "Add a column (e.g. 'image' or 'audio') with each row's file name.")
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise _bad(f"{name}: the table names files that are not in the zip", f"Missing: {shown}.",
                   "Add them to the zip, or fix the names in the table (names are case-sensitive).")
    return Dataset(name, inner.columns, inner.rows, files)


def _named_files(data: Dataset, files: dict[str, bytes]) -> dict[str, list[str]]:
    """The columns whose cells name files (most non-empty cells look like a file name of the zip), and their names."""
    found = {}
    for column in data.columns:
        cells = [str(r.get(column) or "").strip() for r in data.rows]
        cells = [c for c in cells if c]
        looks = [c for c in cells if c in files or PurePosixPath(c).suffix.lower() in _MEDIA_SUFFIXES]
        if cells and len(looks) * 2 > len(cells):
            found[column] = cells
    return found


_MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".wav", ".mp3", ".flac",
                   ".ogg", ".m4a", ".webm", ".pdf")


# ------------------------------------------------------------------------------------------ a Hub dataset


@dataclass(frozen=True)
class HubData:
    """A Hub dataset's split, read: the files read (paths in the repo, at commit ``sha``), and the data as one file
    that a batch keeps (``file_name``, ``data``) exactly as it keeps an upload, so that it resumes the same way."""

    dataset: Dataset
    repo_id: str
    config: str
    split: str
    revision: str  # as read: the revision asked, or ``hub.PARQUET_REVISION`` (the Hub's Parquet conversion)
    sha: str  # the commit the files were read at: the one ``revision`` named then (kept as asked when a commit SHA)
    files: tuple[str, ...]
    file_name: str
    data: bytes = field(repr=False)

    def markdown(self) -> str:
        where = f"https://huggingface.co/datasets/{self.repo_id}"
        read = ", ".join(f"`{f}`" for f in self.files[:8])
        read += f" and {len(self.files) - 8} more" if len(self.files) > 8 else ""
        via = " (the Hub's Parquet conversion)" if self.revision == _parquet_revision() else ""
        config = f" of config **{self.config}**" if self.config else ""
        split = f", split **{self.split}**{config}" if self.split else ""
        at = f"`{self.revision}`" if not self.sha else f"commit `{self.sha[:7]}`" if self.revision == self.sha else \
            f"`{self.revision}` (commit `{self.sha[:7]}`)"
        return f"🤗 Read [{self.repo_id}]({where}){split} at {at}{via}: {read}."

    def source(self) -> dict[str, Any]:
        """Where the data came from, as the batch's record keeps it (``Spec.source``): the commit read (``revision``,
        so that reading it again reads the same data) and the branch, tag or commit asked (``ref``)."""
        return {"hub": "dataset", "repo_id": self.repo_id, "config": self.config, "split": self.split,
                "revision": self.sha or self.revision, "ref": self.revision, "files": list(self.files)}


def _parquet_revision() -> str:
    from .hub import PARQUET_REVISION

    return PARQUET_REVISION


_SPLIT_EDGE = r"[/_.\- ]"


def _config_of(path: str) -> str:
    """The config a data file belongs to by the Hub's layout: its top folder ('default' for the root and ``data/``)."""
    parts = PurePosixPath(path).parts
    return parts[0] if len(parts) > 1 and parts[0] != "data" else "default"


def split_files(paths: list[str], split: str, config: str = "") -> list[str]:
    """The data files of one split, the way the Hub lays them out: a file or folder named after the split
    (``train.csv``, ``data/train-00000-of-00001.parquet``, ``{config}/train-*.parquet``, ``{config}/{split}/…``),
    within the config's folder when a config is named. Only files the batch reads (CSV, TSV, JSONL, Parquet).
    (A dataset whose card declares its configs is read as the card says: ``card_configs``.)"""
    word = re.compile(rf"(^|{_SPLIT_EDGE}){re.escape(split)}($|{_SPLIT_EDGE}|[0-9])", re.IGNORECASE)
    found = []
    for path in sorted(paths):
        if PurePosixPath(path.lower()).suffix not in TABLE_SUFFIXES or (config and _config_of(path) != config):
            continue
        inside = path.split("/", 1)[1] if config and _config_of(path) == config and config != "default" else path
        if word.search(PurePosixPath(inside).with_suffix("").as_posix()):
            found.append(path)
    return found


@dataclass(frozen=True)
class CardConfig:
    """One config of a dataset card's ``configs:`` (the Hub's "manual configuration"): each split's file patterns
    (``data_files``, relative to ``data_dir``), or none: the file-name rules (``split_files``) within ``data_dir``."""

    name: str
    data_files: dict[str, tuple[str, ...]] | None
    data_dir: str = ""
    default: bool = False


_CARD_FORMAT = "huggingface.co/docs/hub/datasets-manual-configuration"


def card_configs(repo_id: str, card: dict[str, Any]) -> dict[str, CardConfig]:
    """The configs a dataset card declares (its YAML ``configs:``), by name in the card's order; {} when it declares
    none. ``data_files`` as the Hub documents it: a pattern or a list of patterns (all in split ``train``), or a list
    of ``{split, path}`` whose path is a pattern or a list of them. Raises InputError for a card not in that format."""
    entries = card.get("configs") if isinstance(card, dict) else None
    if not entries:
        return {}

    def invalid(detail: str) -> InputError:
        return _bad(f"{repo_id}: its dataset card's 'configs' are not in the Hub's format", detail,
                    f"Fix the card's YAML ({_CARD_FORMAT}), or name a File to read.")

    if not isinstance(entries, list):
        raise invalid("'configs' must be a list of {config_name, data_files}.")
    found: dict[str, CardConfig] = {}
    for entry in entries:
        name = str(entry.get("config_name") or "").strip() if isinstance(entry, dict) else ""
        if not name:
            raise invalid(f"Each config needs a config_name; got {json.dumps(entry, default=str)[:200]}.")
        found[name] = CardConfig(name, _card_data_files(entry.get("data_files"), name, invalid),
                                 str(entry.get("data_dir") or "").strip().strip("/"), entry.get("default") is True)
    return found


def _card_data_files(value: Any, name: str, invalid: Callable[[str], InputError]) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"train": (value,)}
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return {"train": tuple(value)}
    splits: dict[str, tuple[str, ...]] = {}
    for item in value if isinstance(value, list) else [None]:
        path = item.get("path") if isinstance(item, dict) else None
        paths = (path,) if isinstance(path, str) else tuple(path) if isinstance(path, list) else ()
        if not paths or not all(isinstance(p, str) for p in paths) or not str(item.get("split") or "").strip():
            raise invalid(f"Config '{name}': data_files must be a pattern, a list of patterns, or a list of "
                          f"{{split, path}}; got {json.dumps(value, default=str)[:200]}.")
        split = str(item["split"]).strip()
        splits[split] = splits.get(split, ()) + paths
    return splits


def _glob(pattern: str) -> re.Pattern[str]:
    """A ``data_files`` pattern as the Hub's file system matches a repo's paths: ``*`` and ``?`` within a folder,
    ``**`` across folders, ``[...]`` one of the characters."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] in "*?":
            out.append("[^/]*" if pattern[i] == "*" else "[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            inner = pattern[i + 1:end]
            negated = inner.startswith("!")
            body = "".join("\\" + ch if ch in "\\^[&~|" else ch for ch in inner[negated:])  # ranges (a-z) kept
            out.append(f"[{'^' if negated else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _card_path(config: CardConfig, pattern: str) -> str:
    """A ``data_files`` pattern as a path in the repo (within the config's ``data_dir``)."""
    return (f"{config.data_dir}/" if config.data_dir else "") + pattern.strip().removeprefix("./").lstrip("/")


def _card_files(config: CardConfig, pattern: str, paths: list[str]) -> list[str]:
    """The repo's files that one of the config's patterns names, sorted (hidden files and folders, '.x' and '__x',
    only when the pattern names them)."""
    pattern = _card_path(config, pattern)
    named = set(pattern.split("/"))
    match = _glob(pattern).fullmatch
    return [p for p in sorted(paths) if match(p)
            and not any(part.startswith((".", "__")) and part not in named for part in p.split("/"))]


def _card_split(repo_id: str, configs: dict[str, CardConfig], paths: list[str], split: str,
                config: str) -> tuple[list[str], str]:
    """The files of a split as the dataset card says (the ones the batch reads), and the config read: the one named,
    else the card's default (``default: true``, else the one named 'default', else the only one). Raises InputError
    naming the configs, or the config's splits, that there are."""
    names = ", ".join(configs)
    if config and config not in configs:
        raise _bad(f"{repo_id} has no config '{config}'", f"Configs (from its dataset card): {names}.",
                   "Pick one of them in Config.")
    if config:
        chosen = configs[config]
    else:
        defaults = [c for c in configs.values() if c.default] or [c for c in configs.values() if c.name == "default"]
        if not defaults and len(configs) > 1:
            raise _bad(f"{repo_id} has several configs and no default", f"Configs (from its dataset card): {names}.",
                       "Pick the config to read.")
        chosen = defaults[0] if defaults else next(iter(configs.values()))
    if chosen.data_files is None:  # no data_files: the file-name rules, within its data_dir
        base = f"{chosen.data_dir}/" if chosen.data_dir else ""
        return [base + p for p in split_files([p[len(base):] for p in paths if p.startswith(base)], split)], chosen.name
    if split not in chosen.data_files:
        raise _bad(f"{repo_id} has no '{split}' split in config '{chosen.name}'",
                   f"Splits of '{chosen.name}' (from its dataset card): {', '.join(chosen.data_files)}.",
                   "Type one of those splits.")
    matched: list[str] = []
    for pattern in chosen.data_files[split]:  # (each pattern must match a file, as the ``datasets`` library says)
        found = _card_files(chosen, pattern, paths)
        if not found:
            raise _bad(f"{repo_id}: no file matches {_card_path(chosen, pattern)} (the '{split}' split of config "
                       f"'{chosen.name}')", f"Its dataset card names: {', '.join(chosen.data_files[split])}.",
                       f"Fix the card's data_files ({_CARD_FORMAT}), or name a File to read.")
        matched += [p for p in found if p not in matched]
    return [p for p in matched if PurePosixPath(p.lower()).suffix in TABLE_SUFFIXES], chosen.name


def _stored_name(repo_id: str, config: str, split: str, suffix: str) -> str:
    """The name a Hub split is kept under: its suffix says how it is read again (``read_data``)."""
    parts = [repo_id.replace("/", "--"), *([config] if config and config != "default" else []), split or "file"]
    return "-".join(p for p in parts if p) + suffix


def _repo_id(repo_id: str) -> str:
    """A dataset's repo id as typed (or its address), as owner/name; InputError otherwise."""
    repo_id = (repo_id or "").strip()
    if repo_id.startswith("https://huggingface.co/datasets/"):
        repo_id = "/".join(repo_id.removeprefix("https://huggingface.co/datasets/").split("/")[:2])
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise _bad("Name the dataset as owner/name", f"Got '{repo_id or '(nothing)'}'.",
                   "Type its repo id, as in its address: huggingface.co/datasets/owner/name.")
    return repo_id


def hub_configs(repo_id: str, revision: str = "main", *, token: str | None = None) -> list[str]:
    """The configs a Hub dataset offers (the page's Config picker): its card's (``configs:``, the default first),
    else its folders' by the Hub's layout (``_config_of``). Raises what ``read_hub`` raises for the dataset."""
    from . import hub

    repo_id = _repo_id(repo_id)
    at = hub.dataset_revision(repo_id, revision, token=token)
    card = card_configs(repo_id, at.card)
    if card:
        return sorted(card, key=lambda name: not card[name].default)
    files = hub.dataset_files(repo_id, at.sha or revision, token=token)
    return sorted({_config_of(f.path) for f in files if PurePosixPath(f.path.lower()).suffix in TABLE_SUFFIXES})


def read_hub(repo_id: str, split: str = "train", *, config: str = "", path: str = "", revision: str = "main",
             token: str | None = None) -> HubData:
    """Read a Hub dataset's split (or the one file ``path``) with huggingface_hub, into the same Dataset as an
    upload. The revision is first resolved to its commit (``hub.dataset_revision``), and everything is listed and
    read at that commit: ``HubData.sha``, kept in the batch's record. With no file named, the split's data files
    are the ones its dataset card's ``configs:`` name (``card_configs``), else found by the Hub's layout
    (``split_files``), else in the Hub's Parquet conversion (``refs/convert/parquet``:
    ``{config}/{split}/0000.parquet``). Capped like an upload.

    Raises InputError (no such file, config or split: the ones found are named; too large; a file that does not
    read), and the translated Hub errors (hub.dataset_files): a dataset missing or private without a token that
    reads it, gated without access, the Hub unreachable."""
    from . import hub

    repo_id = _repo_id(repo_id)
    split, config, path = (split or "").strip(), (config or "").strip(), (path or "").strip().lstrip("/")
    revision = (revision or "main").strip() or "main"
    if not path and not split:
        raise _bad("Name a split or a file", "", "Type the split (train, test, validation) or a file's path in the repo.")
    at = hub.dataset_revision(repo_id, revision, token=token)
    sha = revision if hub.is_commit(revision) else at.sha
    files = {f.path: f.size for f in hub.dataset_files(repo_id, sha or revision, token=token)}
    read_at = revision
    if path:
        if path not in files:
            close = [p for p in files if PurePosixPath(p).name == PurePosixPath(path).name][:3] or \
                [p for p in files if PurePosixPath(p.lower()).suffix in TABLE_SUFFIXES][:10]
            raise _bad(f"{repo_id} has no file '{path}' at {revision}", f"Files: {', '.join(close) or '(none it reads)'}.",
                       "Type a path as the dataset's Files tab shows it, or leave File empty to read the split.")
        chosen = [path]
    else:
        card = card_configs(repo_id, at.card)
        if card:
            chosen, config = _card_split(repo_id, card, list(files), split, config)
        else:
            chosen = split_files(list(files), split, config)
            configs = sorted({_config_of(p) for p in chosen})
            if not config and len(configs) > 1:
                raise _bad(f"{repo_id} has several configs with a '{split}' split", f"Configs: {', '.join(configs)}.",
                           "Type the config to read.")
        if not chosen:  # the Hub's Parquet conversion, for datasets in formats the batch does not read
            chosen, files, config, sha = _converted_split(repo_id, split, config, files, token)
            read_at = hub.PARQUET_REVISION
    total = sum(files[p] for p in chosen)
    if total > MAX_FILE_BYTES:
        raise _bad(f"{repo_id} '{split or path}' is too large", f"{len(chosen)} file(s), {total / 1e6:.1f} MB; the "
                   f"limit is {MAX_FILE_BYTES / 1e6:.0f} MB.", "Name one of its files (File), or a smaller split.")
    parts = [(p, hub.dataset_file(repo_id, p, sha or read_at, token=token)) for p in chosen]
    if sum(len(b) for _, b in parts) > MAX_FILE_BYTES:
        raise _bad(f"{repo_id} '{split or path}' is too large", f"The limit is {MAX_FILE_BYTES / 1e6:.0f} MB.",
                   "Name one of its files (File), or a smaller split.")
    name, data = _one_file(repo_id, config, PurePosixPath(path).stem if path else split, parts)
    dataset = read_data(name, data)
    return HubData(dataset, repo_id, config, split if not path else "", read_at, sha, tuple(chosen), dataset.name, data)


def _converted_split(repo_id: str, split: str, config: str, main_files: dict[str, int],
                     token: str | None) -> tuple[list[str], dict[str, int], str, str]:
    """The split's files in the Hub's Parquet conversion (and the conversion's commit), or InputError naming the
    splits and files there are."""
    from . import hub
    from .errors import NotFoundError

    try:
        sha = hub.dataset_revision(repo_id, hub.PARQUET_REVISION, token=token).sha
        converted = {f.path: f.size for f in hub.dataset_files(repo_id, sha or hub.PARQUET_REVISION, token=token)}
    except NotFoundError:  # not converted (no such branch)
        sha, converted = "", {}
    by_config: dict[str, set[str]] = {}
    for p in converted:
        bits = PurePosixPath(p).parts
        if len(bits) >= 3 and bits[-1].endswith(".parquet"):
            by_config.setdefault(bits[0], set()).add(bits[1].removeprefix("partial-"))
    if not config:
        config = "default" if "default" in by_config or len(by_config) != 1 else next(iter(by_config))
    chosen = sorted(p for p in converted if PurePosixPath(p).parts[:2] in ((config, split), (config, f"partial-{split}"))
                    and p.endswith(".parquet"))
    if chosen:
        return chosen, converted, config, sha
    splits = "; ".join(f"{c}: {', '.join(sorted(s))}" for c, s in sorted(by_config.items()))
    readable = [p for p in main_files if PurePosixPath(p.lower()).suffix in TABLE_SUFFIXES]
    shown = ", ".join(readable[:10]) + (f" and {len(readable) - 10} more" if len(readable) > 10 else "")
    raise _bad(f"{repo_id} has no '{split}' split" + (f" in config '{config}'" if config else ""),
               (f"Splits (config: splits): {splits}. " if splits else "")
               + f"Data files: {shown or '(none the batch reads: CSV, TSV, JSONL, Parquet)'}.",
               "Type one of those splits (and its config), or a file's path in File.")


def _one_file(repo_id: str, config: str, split: str, parts: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """The files read, as one file a batch keeps: the file itself when there is one, Parquet shards joined into one
    Parquet file, other files' rows as one JSONL file."""
    suffixes = {PurePosixPath(p.lower()).suffix for p, _ in parts}
    if len(parts) == 1:
        return _stored_name(repo_id, config, split, suffixes.pop()), parts[0][1]
    if suffixes == {".parquet"}:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pa.concat_tables([pq.read_table(io.BytesIO(b)) for _, b in parts], promote_options="default")
        except Exception as err:  # pyarrow's errors have no common base worth naming
            raise _bad(f"{repo_id}: the '{split}' files do not join", str(err)[:300],
                       "Name one of them (File).") from None
        out = io.BytesIO()
        pq.write_table(table, out)
        return _stored_name(repo_id, config, split, ".parquet"), out.getvalue()
    lines = []
    for p, b in parts:
        for row in read_data(PurePosixPath(p).name, b).rows:
            lines.append(json.dumps(row, ensure_ascii=False, default=str))
    return _stored_name(repo_id, config, split, ".jsonl"), ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------------------------------ mapping


def _norm(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(name).strip().lower()).strip("_")


def auto_map(task: Task, columns: list[str]) -> dict[str, str]:
    """Each input of the task -> the column that feeds it, matched by name (its own, its label's, then common
    synonyms); an input no column matches is left out. A column feeds one input at most."""
    by_norm = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for spec in task.inputs:
        if spec.kind in ("tools", "schema"):  # the same for every row: fixed inputs, not columns
            continue
        names = (spec.name, spec.label, *SYNONYMS.get(spec.name, ()))
        for candidate in names:
            column = by_norm.get(_norm(candidate))
            if column is not None and column not in taken:
                mapping[spec.name] = column
                taken.add(column)
                break
    return mapping


def guess_expected(columns: list[str], mapping: dict[str, str]) -> str:
    """The column holding the expected answer, by name (one not fed to an input), else ''."""
    used = set(mapping.values())
    by_norm = {_norm(c): c for c in columns if c not in used}
    return next((by_norm[n] for n in EXPECTED_NAMES if n in by_norm), "")


# ------------------------------------------------------------------------------------------ the spec


@dataclass(frozen=True)
class Target:
    """One model to run the batch on (a matrix has up to ``MAX_TARGETS``)."""

    model: str
    provider: str = "auto"
    revision: str = "main"

    @property
    def label(self) -> str:
        rev = "" if self.revision in ("", "main") else f"@{self.revision[:7]}"
        return f"{self.model}{rev} · {self.provider}"


@dataclass(frozen=True)
class Spec:
    """What a batch runs: kept as JSON in the ledger with the data file, so it can resume (and, for a Hub dataset,
    where its data came from: ``source``)."""

    task: str
    targets: tuple[Target, ...]
    mapping: dict[str, str]  # task input -> column
    expected: str = ""  # the column of expected answers ('' for none): turns the checks on
    fixed: dict[str, Any] = field(default_factory=dict)  # task input -> the same value for every row
    params: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 4
    adaptive: bool = True
    bundle: int = 1  # rows per request, for a task that bundles (``Task.bundles``); 1: each row its own request
    source: dict[str, Any] = field(default_factory=dict)  # a Hub dataset's: ``HubData.source()`` (the commit read)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "targets": [asdict(t) for t in self.targets]}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Spec:
        return cls(**{**value, "targets": tuple(Target(**t) for t in value["targets"])})

    def check(self, data: Dataset) -> None:
        """Raises InputError when the spec cannot run on this data (before anything is sent)."""
        task = TASKS.get(self.task)
        if task is None:
            raise _bad(f"Unknown task '{self.task}'", "", f"Pick one of: {', '.join(TASKS)}.")
        if not self.targets:
            raise _bad("No model to run", "", "Type a model id (owner/name).")
        if len(self.targets) > MAX_TARGETS:
            raise _bad(f"Too many targets: {len(self.targets)}", f"A batch compares up to {MAX_TARGETS} models.",
                       "Remove some.")
        for t in self.targets:
            if not t.model.strip():
                raise _bad("A target has no model", "", "Type a model id (owner/name) for every target.")
        for spec_input, column in self.mapping.items():
            if column and column not in data.columns:
                close = [c for c in data.columns if _norm(c) == _norm(column)]
                hint = f"Did you mean '{close[0]}'?" if close else f"Columns: {', '.join(data.columns)}."
                raise _bad(f"Column '{column}' is not in {data.name}", hint, "Pick the column from the list.")
        for spec in task.inputs:
            if spec.required and not self.mapping.get(spec.name) and self.fixed.get(spec.name) in (None, ""):
                raise _bad(f"No column for '{spec.label}'", f"{task.label} needs it for every row.",
                           f"Map one of the columns ({', '.join(data.columns)}) to it.")
            if spec.kind in MEDIA and self.mapping.get(spec.name) and not data.files:
                raise _bad(f"'{spec.label}' needs the files themselves", "A table alone names files this server "
                           "cannot read.", "Upload a zip holding the files and a CSV that names them.")
        if self.expected and self.expected not in data.columns:
            raise _bad(f"Expected column '{self.expected}' is not in {data.name}", f"Columns: {', '.join(data.columns)}.",
                       "Pick the column from the list, or none.")
        if not 1 <= self.concurrency <= 64:
            raise _bad("Concurrency must be between 1 and 64", f"Got {self.concurrency}.", "Change it.")
        if not 1 <= self.bundle <= MAX_BUNDLE:
            raise _bad(f"Rows per request must be between 1 and {MAX_BUNDLE}", f"Got {self.bundle}.", "Change it.")
        if self.bundle > 1 and not task.bundles:
            raise _bad(f"{task.label} does not bundle rows", "Its InferenceClient call takes one input: each row is "
                       f"its own request. Tasks that bundle: {', '.join(bundling_tasks())}.",
                       "Set Rows per request to 1.")


def bundling_tasks() -> list[str]:
    """The tasks whose rows go several to a request (``Task.bundles``), by label."""
    return [t.label for t in TASKS.values() if t.bundles]


def bundling_providers(task: Task) -> list[str]:
    """The providers a bundling task's rows go several to a request by: every provider huggingface_hub serves the
    task by (their helpers send the list and read one answer per input), a custom endpoint, and the local
    backend."""
    from huggingface_hub.inference._providers import PROVIDERS

    if not task.bundles:
        return []
    return sorted(p for p, tasks in PROVIDERS.items() if task.provider_task in tasks) + ["custom", "local"]


def row_key(row: int, target: int) -> str:
    return f"{row}:{target}"


def row_inputs(task: Task, spec: Spec, data: Dataset, row: dict[str, Any]) -> dict[str, Any]:
    """One row's inputs, as ``service.run`` takes them. Cells are never read as paths on this server: a media
    cell names a file of the zip. A bad cell is passed on as it is, for the service to refuse (and record)."""
    inputs: dict[str, Any] = {}
    for spec_input in task.inputs:
        column = spec.mapping.get(spec_input.name)
        value = row.get(column) if column else spec.fixed.get(spec_input.name)
        inputs[spec_input.name] = _input_value(spec_input, value, data.files if column else {})
    return inputs


def _input_value(spec: Input, value: Any, files: dict[str, bytes]) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if spec.kind in MEDIA:
        if isinstance(value, dict) and isinstance(value.get("bytes"), (bytes, bytearray)):  # a Hub image column
            return bytes(value["bytes"])
        name = str(value).strip()
        return files.get(name) or files.get(PurePosixPath(name).name) if name else None
    if spec.kind == "chat":
        if isinstance(value, str) and value.strip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        if isinstance(value, list):
            return value
        text = str(value).strip()
        return [{"role": "user", "content": text}] if text else []
    if spec.kind == "table" and isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if spec.kind in ("text",) and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return value


# ------------------------------------------------------------------------------------------ before start


@dataclass(frozen=True)
class Plan:
    """What a batch will do, said before it starts."""

    requests: int
    done: int  # requests already finished (a resumed batch)
    seconds: float | None  # estimated duration (None: unknown)
    cost_usd: float | None  # estimated cost (None: unknown)
    latency_basis: str
    cost_basis: str
    empty_cells: dict[str, int]  # column -> rows whose cell is empty (they will fail as bad input)
    budget_note: str = ""  # the spend guard: when the estimate would pass a budget (or it is already used up)
    bundle: int = 1  # rows per request (a task that bundles): the requests above are runs, sent in fewer calls
    calls: int | None = None  # the router calls the runs take, bundled (None: one each)

    def markdown(self) -> str:
        lines = [f"**{self.requests:,} request{'s' * (self.requests != 1)}** to send"
                 + (f" ({self.done:,} already done are skipped)" if self.done else "") + "."]
        if self.calls is not None:
            lines.append(f"📦 Bundled: up to {self.bundle} rows per request, so **{self.calls:,} router call"
                         f"{'s' * (self.calls != 1)}**; each row is still its own run in your history.")
        if self.seconds is None:
            lines.append(f"Duration: **unknown** ({self.latency_basis}).")
        else:
            lines.append(f"Duration: about **{_duration(self.seconds)}** ({self.latency_basis}).")
        cost = "unknown" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        lines.append(f"Cost: **{cost}** ({self.cost_basis}).")
        for column, n in self.empty_cells.items():
            lines.append(f"⚠️ {n:,} row{'s' * (n != 1)} with an empty '{column}' cell will fail as bad input "
                         "(the batch goes on).")
        if self.budget_note:
            lines.append(self.budget_note)
        return "\n\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def budget_note(cost_usd: float | None, guard: spend_guard.Guard | None, owner: ledger.Owner) -> str:
    """What the plan says about the spend guard's budgets: where the estimate would pass one (the batch will stop
    at the row that would), or that one is used up already; "" when it fits (or there is no budget)."""
    if guard is None or not guard.budget.any:
        return ""
    spent = spend_guard.spent(owner, guard.since_ms)
    why = spend_guard.reason(guard.budget, spent, (cost_usd, "unknown: this batch's cost is not known before it runs"))
    if why is None:
        return ""
    why = why.replace("This run is estimated", "This batch is estimated").replace("this run's cost", "this batch's cost")
    return (f"{spend_guard.ASK_MARK} **The spend guard will stop this batch** at the row that would pass your budget "
            f"(resumable): {why}")


def plan(spec: Spec, data: Dataset, owner: ledger.Owner, done: int = 0,
         guard: spend_guard.Guard | None = None) -> Plan:
    """Requests, estimated duration (the target's median latency in the owner's recent runs x requests /
    concurrency) and estimated cost (the mean known cost of those runs x requests), and whether that cost would
    pass the spend guard's budget (``guard``)."""
    requests = len(data.rows) * len(spec.targets) - done
    latencies, costs, bases = [], [], []
    store = ledger.current()
    for target in spec.targets:
        recent = []
        if store is not None:
            provider = None if target.provider in ("auto", ":fastest", ":cheapest", "balance") else target.provider
            try:
                recent = store.list_runs(owner, task=spec.task, model=target.model.strip(), provider=provider,
                                         status="ok", limit=50).runs
            except ledger.LedgerError:
                recent = []
        if recent:
            latencies.append(percentile(sorted(r.latency_ms for r in recent), 0.5))
        known = [r.cost_usd for r in recent if r.cost_usd is not None]
        if known:
            costs.append(sum(known) / len(known))
        elif recent:
            bases.append(recent[0].cost_basis)
    per_target = requests / max(1, len(spec.targets))
    if len(latencies) == len(spec.targets) and latencies:
        seconds = sum(ms / 1000 * per_target for ms in latencies) / spec.concurrency
        basis = (f"median latency {', '.join(f'{ms:.0f} ms' for ms in latencies)} in your recent runs × "
                 f"{requests:,} / concurrency {spec.concurrency}")
    else:
        seconds, basis = None, "no recent successful run of this target in your history: run one row first"
    if len(costs) == len(spec.targets) and costs:
        cost = sum(c * per_target for c in costs)
        cost_basis = f"mean cost of your recent runs of this target × {requests:,}"
    else:
        cost = None
        cost_basis = bases[0] if bases else "no recent run of this target with a known cost"
    task = TASKS[spec.task]
    empty = {}
    for spec_input in task.inputs:
        column = spec.mapping.get(spec_input.name)
        if column and spec_input.required:
            n = sum(1 for r in data.rows if _cell_text(r.get(column)).strip() == "")
            if n:
                empty[column] = n
    size = spec.bundle if task.bundles else 1
    calls = math.ceil(per_target / size) * len(spec.targets) if size > 1 else None
    return Plan(requests, done, seconds, cost, basis, cost_basis, empty, budget_note(cost, guard, owner), size, calls)


# ------------------------------------------------------------------------------------------ concurrency


class Gate:
    """Adaptive concurrency for one provider and token (AIMD, checked): at most ``limit`` rows in flight; each row
    without a 429 adds ``1 / limit`` (one place per round of rows), up to ``ceiling``; a row that met a 429 halves
    the limit, and new rows wait while the reliability layer's cooldown of that provider for that token lasts
    (it comes from Retry-After).

    A halving is checked before it is believed. Against a provider's rate limit, more rows at once do not finish
    more rows a second, they only draw more 429s. Against a provider that refuses a share of calls whatever the load
    (overloaded, or a flaky proxy), they do, and halving on each 429 would sink the batch to one row at a time
    without one refusal fewer. So a halving starts a probe of two windows of ``WINDOW`` rows: the rate at which rows
    finish at the halved limit, then at the limit before (new rows are not held back for Retry-After while it
    measures; each row still waits out its own in its retries). When the higher limit is not ``GAIN`` times faster,
    it was a limit: back to half (``limited``). When it is, the halving is undone and the share of rows refused
    becomes the gate's ``noise``: new rows stop waiting out each other's Retry-After, and only a share of refusals
    clearly above the noise halves again.
    """

    WINDOW = 32  # rows: what a share of refusals, or a rate, is measured over
    GAIN = 1.3  # twice the limit must finish rows at least this much faster to be kept

    def __init__(self, key: str, start: int, ceiling: int | None = None,
                 health: reliability.ProviderHealth = reliability.HEALTH, adaptive: bool = True):
        self.key = key  # reliability.token_key: never the token
        self.adaptive = adaptive  # False: a fixed limit, each row honouring Retry-After in its own retries
        self.limit = float(start)
        self._base = ceiling or start
        self._users: dict[str, int] = {}  # the batches using this gate now, and the concurrency each asked for
        self.health = health
        self.in_flight = 0
        self.decreases = 0
        self.undone = 0  # halvings undone by their probe: the refusals did not come from the load
        self.lowest = self.limit  # the lowest limit it came down to (tests, benchmarks)
        self.noise = 0.0  # the share of rows refused whatever the load, since a probe found it so
        self._counted = [0, 0]  # rows refused, rows: since then
        self.limited = False  # a probe found a real limit: every 429 halves at once from then on
        self._recent: deque[bool] = deque(maxlen=self.WINDOW)  # the last rows: refused (429) or not
        self._probe: _Probe | None = None
        self._cooling: set[str] = set()
        self._cond = threading.Condition()
        self._calm_after = 0  # rows started before this count do not halve the limit again
        self._started = 0

    @property
    def ceiling(self) -> int:
        """The most it grows to: the largest concurrency asked by a batch using it now."""
        return max(self._users.values(), default=self._base)

    def attach(self, user: str, start: int) -> None:
        """A batch starts using this gate; an idle gate starts where it asks (a batch's own cap is its own)."""
        with self._cond:
            if not self._users:
                self.limit = self.lowest = float(start)
                self._probe = None
            self._users[user] = start

    def detach(self, user: str) -> None:
        with self._cond:
            self._users.pop(user, None)
            self.limit = min(self.limit, float(self.ceiling))
            self._cond.notify_all()

    def cooldown_left(self) -> float:
        """Seconds until every provider that answered 429 may be called again (reliability's cooldowns). None while
        a probe measures (held back, the rows would not show how many the provider refuses at the limit) and once a
        probe found the refusals to be noise: each row still waits out its own Retry-After in its retries."""
        left = 0.0
        for provider in list(self._cooling):
            cooldown = self.health.cooldown(provider, self.key)
            if cooldown is None:
                self._cooling.discard(provider)
            else:
                left = max(left, cooldown.left(self.health.clock()))
        return 0.0 if self.noise or self._probe is not None else left

    def acquire(self, stop: threading.Event, poll_s: float = 0.05) -> int | None:
        """Wait for a place (and for the cooldowns to end); its ticket, or None when ``stop`` is set first."""
        with self._cond:
            while not stop.is_set():
                wait = self.cooldown_left()
                if wait <= 0 and self.in_flight < max(1, int(self.limit)):
                    self.in_flight += 1
                    self._started += 1
                    if self._probe is not None and self._probe.began is None:  # the phase's first row: its clock
                        self._probe.began = time.monotonic()
                    return self._started
                self._cond.wait(min(poll_s, wait) if wait > 0 else poll_s)
        return None

    def release(self, ticket: int, limited_by: list[str]) -> None:
        """A row ended; ``limited_by``: the providers that answered it 429 (empty: none did)."""
        with self._cond:
            self.in_flight -= 1
            refused = bool(limited_by)
            self._recent.append(refused)
            if self.noise and self._probe is None:  # the noise, measured over every row since a probe found it
                self._counted[0] += refused
                self._counted[1] += 1
                self.noise = max(self._counted[0] / self._counted[1], 1 / self._counted[1])
            if not self.adaptive:
                return self._cond.notify_all()
            if refused:
                self._cooling.update(limited_by)
            if self._probe is not None:
                self._probe_row(ticket, refused)
            elif refused and ticket > self._calm_after and self._over_noise():
                self._halve()
                if not self.limited:  # is it a limit? measure the refusals at half, then at the limit before
                    self._probe = _Probe(self.limit * 2, after=self._started)
            elif not refused:
                self.limit = min(float(self.ceiling), self.limit + 1 / max(1.0, self.limit))
            self._cond.notify_all()

    def _halve(self) -> None:
        self.limit = max(1.0, self.limit / 2)
        self.lowest = min(self.lowest, self.limit)
        self.decreases += 1
        self._calm_after = self._started  # one halving per round: the rows in flight met the same limit

    def _over_noise(self) -> bool:
        """Whether the recent share of refused rows is clearly above the noise (any refusal, while there is none)."""
        if not self.noise:
            return True
        share = sum(self._recent) / len(self._recent)
        return share > self.noise + 3 * math.sqrt(self.noise * (1 - self.noise) / self.WINDOW) + 0.05

    def _probe_row(self, ticket: int, refused: bool) -> None:
        probe = self._probe
        if ticket <= probe.after:  # started before this phase: at another limit
            return
        probe.rows.append(refused)
        if len(probe.rows) < self.WINDOW:
            return
        now = time.monotonic()
        share, rate = sum(probe.rows) / len(probe.rows), len(probe.rows) / max(now - (probe.began or now), 1e-6)
        if probe.low is None:  # the halved limit measured: now the limit before
            probe.low, probe.low_rate = share, rate
            probe.rows, probe.after, probe.began = [], self._started, None
            self.limit = min(float(self.ceiling), probe.restore)
            return
        self._probe = None
        if rate < probe.low_rate * self.GAIN:
            # twice as many at once did not finish rows (nearly) twice as fast: the provider's limit (or this
            # machine's) holds them back, and more at once only draws more 429s. Back to half.
            self.limited = True
            self._halve()
        else:  # more at once, more done: the refusals are not a limit that the load reaches; the halving is undone
            self.limited = False
            self._counted = [sum(probe.rows) + round(probe.low * self.WINDOW), 2 * self.WINDOW]
            self.noise, self.undone = self._counted[0] / self._counted[1], self.undone + 1
            self._calm_after = self._started


@dataclass
class _Probe:
    """A halving being checked (``Gate``): ``WINDOW`` rows at the halved limit (their share refused ``low``, their
    rate ``low_rate``), then as many at the limit before (``restore``). ``after``: rows started before the phase
    do not count; ``began``: when the phase's first row started (the rows of the phase before may hold the places
    a while: the phase's rate is counted from then)."""

    restore: float
    after: int
    began: float | None = None
    low: float | None = None
    low_rate: float = 0.0
    rows: list[bool] = field(default_factory=list)


_GATES: dict[tuple[str, str], Gate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(token: str | None, provider: str, start: int, user: str) -> Gate:
    """The gate of this provider and token, shared by every batch using them (keyed by a hash of the token), with
    ``user`` (a batch id) attached to it until it detaches."""
    key = reliability.token_key(token)
    with _GATES_LOCK:
        gate = _GATES.get((key, provider))
        if gate is None:
            gate = _GATES[(key, provider)] = Gate(key, start)
        gate.attach(user, start)
        return gate


# ------------------------------------------------------------------------------------------ the job


@dataclass
class Progress:
    batch_id: str
    state: str  # running, paused, cancelled, done, interrupted
    total: int  # requests in the batch (rows x targets)
    done: int  # finished: succeeded or failed for good
    ok: int  # succeeded (in the whole batch: a resumed batch's earlier rows too)
    errors: int  # failed for good so far (the whole batch's)
    retrying: int  # rows waiting to be sent again after a transient failure
    cost_usd: float
    cost_unknown: int
    rate: float  # requests finished per second, lately
    eta_s: float | None
    limit: float  # the adaptive concurrency now
    in_flight: int
    waiting_s: float  # a cooldown (Retry-After) being waited out
    skipped: int = 0  # finished before this start (a resumed batch)
    message: str = ""

    def markdown(self) -> str:
        share = self.done / self.total if self.total else 1.0
        bits = [f"**{self.done:,} / {self.total:,}** requests ({share:.0%})", f"{self.ok:,} ok",
                f"{self.errors:,} error{'s' * (self.errors != 1)}"]
        if self.retrying:
            bits.append(f"{self.retrying} to retry")
        if self.state == "running":
            bits.append(f"{self.rate:.1f}/s")
            if self.eta_s is not None:
                bits.append(f"ETA {_duration(self.eta_s)}")
            bits.append(f"concurrency {self.limit:.1f} ({self.in_flight} in flight)")
        cost = f"${self.cost_usd:.6f}" + (f" + {self.cost_unknown} of unknown cost" if self.cost_unknown else "")
        bits.append(f"cost so far {cost}")
        if self.waiting_s > 0.05:
            bits.append(f"⏸️ rate limited: waiting {self.waiting_s:.1f} s (Retry-After)")
        icon = {"running": "▶️", "paused": "⏸️", "cancelled": "⏹️", "done": "✅", "interrupted": "⏯️"}.get(self.state, "")
        return f"{icon} **{self.state.capitalize()}** · " + " · ".join(bits) + (f"\n\n{self.message}" if self.message else "")

    def html(self) -> str:
        share = self.done / self.total if self.total else 1.0
        errors = self.errors / self.total if self.total else 0.0
        return (f'<div class="batch-bar" role="progressbar" aria-valuemin="0" aria-valuemax="{self.total}" '
                f'aria-valuenow="{self.done}" style="display:flex;height:14px;border-radius:7px;overflow:hidden;'
                f'background:var(--neutral-200, #e5e7eb)"><div class="batch-bar-ok" style="width:'
                f'{(share - errors) * 100:.2f}%;background:#22c55e"></div><div class="batch-bar-err" style="width:'
                f'{errors * 100:.2f}%;background:#ef4444"></div></div>')


class Job:
    """One batch running in the background: a dispatcher thread hands rows to workers as the gates allow."""

    def __init__(self, batch_id: str, spec: Spec, data: Dataset, owner_state: Any, token: str | None,
                 session: str = "", retry: reliability.RetryPolicy | None = None,
                 on_row: Callable[[service.RunResult], None] | None = None, guard: spend_guard.Guard | None = None):
        self.id = batch_id
        self.spec, self.data = spec, data
        self.task = TASKS[spec.task]
        self.owner = owners.owner_of(owner_state)
        self._fields = owners.run_fields(owner_state, "batch", token)
        self._token = (token or "").strip() or None
        self._session = session
        self._retry = retry or reliability.RetryPolicy()
        self._on_row = on_row
        self.guard = guard  # the spend guard's budgets, carried by every row's request (``resume`` may change it)
        self.state = "running"
        self.message = ""
        self._pause = threading.Event()  # set: paused
        self._stop = threading.Event()  # set: cancelled (or finished)
        self._lock = threading.Lock()
        self.total = len(data.rows) * len(spec.targets)
        self.ok = self.errors = self.skipped = 0
        self._earlier_errors = 0  # rows failed for good before this start (a resumed batch)
        self.cost = 0.0
        self.cost_unknown = 0
        self._tries: dict[str, int] = {}
        self._in_flight = 0
        self._retry_queue: deque[tuple[int, int]] = deque()  # (row, target), sent again before fresh rows
        self.bundle = spec.bundle if self.task.bundles else 1  # rows per request
        self._finished_at: deque[float] = deque(maxlen=200)
        self._started = time.monotonic()
        self._thread: threading.Thread | None = None
        self.gates = {i: gate_for(self._token, t.provider, spec.concurrency, batch_id) if spec.adaptive
                      else Gate(reliability.token_key(self._token), spec.concurrency, adaptive=False)
                      for i, t in enumerate(spec.targets)}
        # this batch's own cap per target: never more of its rows in flight than the user asked, even on a gate
        # that another batch with a larger concurrency shares
        self._mine = {i: threading.BoundedSemaphore(spec.concurrency) for i in range(len(spec.targets))}

    # -------------------------------------------------------------------------------- control

    def start(self, finished: dict[str, ledger.BatchRow] | None = None) -> Job:
        """Run every request not in ``finished`` (the rows already done: ``finished_rows``), in the background. Its
        progress counts those too: its ``ok``, ``errors`` and cost are the whole batch's."""
        finished = finished or {}
        self.skipped = len(finished)
        self._earlier_errors = sum(1 for row in finished.values() if row.status != "ok")
        self.cost += sum(row.cost_usd or 0.0 for row in finished.values())
        self.cost_unknown += sum(1 for row in finished.values() if row.cost_usd is None)
        self._thread = threading.Thread(target=self._dispatch, args=(set(finished),), name=f"batch-{self.id[:8]}",
                                        daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        if self.state == "running":
            self._pause.set()
            self.state = "paused"
            _set_state(self.owner, self.id, "paused")

    def resume(self, guard: spend_guard.Guard | None = None) -> None:
        """Go on (with the budgets ``guard`` gives, when given: a batch the guard stopped goes on within them)."""
        if guard is not None:
            self.guard = guard
        if self.state == "paused":
            self.message = ""
            self._pause.clear()
            self.state = "running"
            _set_state(self.owner, self.id, "running")

    def cancel(self) -> None:
        if self.state in ("running", "paused"):
            self.state = "cancelled"
            self._stop.set()
            self._pause.clear()
            _set_state(self.owner, self.id, "cancelled")

    def wait(self, timeout: float | None = None) -> bool:
        """Until the job ends (done or cancelled, rows in flight finished). False on timeout."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def progress(self) -> Progress:
        with self._lock:
            done = self.ok + self.errors + self.skipped
            now = time.monotonic()
            recent = [t for t in self._finished_at if now - t <= 30]
            span = now - (recent[0] if len(recent) > 1 else self._started)
            rate = (len(recent) - (1 if len(recent) > 1 else 0)) / span if span > 0 and recent else 0.0
            left = self.total - done
            gates = list(self.gates.values())
            return Progress(self.id, self.state, self.total, done, self.ok + self.skipped - self._earlier_errors,
                            self.errors + self._earlier_errors, len(self._retry_queue),
                            self.cost, self.cost_unknown, rate, left / rate if rate > 0 and left else None,
                            sum(g.limit for g in gates), sum(g.in_flight for g in gates),
                            max((g.cooldown_left() for g in gates), default=0.0), self.skipped, self.message)

    # -------------------------------------------------------------------------------- the work

    def _dispatch(self, finished: set[str]) -> None:
        """Hand rows out as the gates allow, a request's worth at a time (``bundle`` rows of one target: one row
        unless the task bundles): rows put back after a transient failure first, then the next fresh rows (a matrix
        sends each to every target in turn). Ends when every row is finished, or on cancel."""
        size, rows = self.bundle, len(self.data.rows)
        fresh = (unit for start in range(0, rows, size) for t in range(len(self.spec.targets))
                 for unit in [[(r, t) for r in range(start, min(rows, start + size)) if row_key(r, t) not in finished]]
                 if unit)
        try:
            self._dispatch_rows(fresh)
        finally:
            for gate in self.gates.values():
                gate.detach(self.id)
        if self.state == "running":
            self.state = "done"
            _set_state(self.owner, self.id, "done")
        store = ledger.current()
        if store is not None:
            store.flush(30.0)

    def _dispatch_rows(self, fresh: Iterator[list[tuple[int, int]]]) -> None:
        workers = self.spec.concurrency * len(self.spec.targets)  # each target: at most this batch's own cap
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=f"batch-{self.id[:6]}") as pool:
            while not self._stop.is_set():
                item = self._retries() or next(fresh, None)
                if item is None:
                    if self._in_flight:  # a row in flight may be put back
                        time.sleep(0.02)
                        continue
                    break
                while self._pause.is_set() and not self._stop.is_set():
                    time.sleep(0.05)
                t = item[0][1]
                mine = False
                while not mine and not self._stop.is_set():
                    mine = self._mine[t].acquire(timeout=0.05)
                if not mine:
                    break
                ticket = self.gates[t].acquire(self._stop)
                if ticket is None:
                    self._mine[t].release()
                    break
                while self._pause.is_set() and not self._stop.is_set():  # paused while it waited for its place
                    time.sleep(0.05)
                if self._stop.is_set():
                    self.gates[t].release(ticket, [])
                    self._mine[t].release()
                    break
                with self._lock:
                    self._in_flight += 1
                pool.submit(self._rows, item, ticket)

    def _retries(self) -> list[tuple[int, int]] | None:
        """The next rows put back after a transient failure, up to a request's worth of one target."""
        with self._lock:
            if not self._retry_queue:
                return None
            unit = [self._retry_queue.popleft()]
            while len(unit) < self.bundle and self._retry_queue and self._retry_queue[0][1] == unit[0][1]:
                unit.append(self._retry_queue.popleft())
            return unit

    def _request(self, r: int, t: int) -> service.RunRequest:
        target = self.spec.targets[t]
        return service.RunRequest(
            self.task.id, target.model.strip(), row_inputs(self.task, self.spec, self.data, self.data.rows[r]),
            dict(self.spec.params), target.revision or "main",
            service.Target(provider=target.provider or "auto", token=self._token, retry=self._retry),
            session=self._session, batch_id=self.id, batch_row=row_key(r, t), guard=self.guard, **self._fields)

    def _rows(self, unit: list[tuple[int, int]], ticket: int) -> None:
        """One request's rows (one row, or a bundle of rows of one target), each run recorded on its own."""
        t = unit[0][1]
        limited: set[str] = set()
        left = list(unit)
        try:
            requests = [self._request(r, t) for r, _ in unit]
            results = service.run_bundle(requests) if len(requests) > 1 else [service.run(requests[0])]
            for (r, _), result in zip(unit, results):
                left.remove((r, t))
                if result.held_back:  # not sent, not recorded: the batch pauses, and this row goes first on Resume
                    self._hold(r, t, result.error.message)
                    continue
                limited |= {a.who for a in result.attempts if a.status == 429}
                self._count(row_key(r, t), r, t, result)
                if self._on_row is not None:
                    self._on_row(result)
        except Exception as exc:  # a bug here must not stop the batch: the rows are counted as failed and said so
            with self._lock:
                self.errors += len(left)
                self.message = f"Row {left[0][0] + 1 if left else unit[0][0] + 1}: {type(exc).__name__}: {exc}"[:300]
                self._finished_at.extend([time.monotonic()] * len(left))
        finally:
            self.gates[t].release(ticket, sorted(limited))
            self._mine[t].release()
            with self._lock:
                self._in_flight -= 1

    def _hold(self, r: int, t: int, why: str) -> None:
        """A row the spend guard held back: back at the front of the queue, and the batch paused with the reason."""
        with self._lock:
            self._retry_queue.appendleft((r, t))
            self.message = (f"{spend_guard.ASK_MARK} **Stopped by the spend guard** at row {r + 1}"
                            f"{f' ({self.spec.targets[t].label})' if len(self.spec.targets) > 1 else ''}: {why} "
                            "Raise the budget in the playground page's Advanced settings (then reload this page), or "
                            "clear it, and Resume: the batch goes on from this row.")
        self.pause()

    def _count(self, key: str, r: int, t: int, result: service.RunResult) -> None:
        cost, _ = ledger_cost.estimate(result)
        with self._lock:
            if cost is None:
                self.cost_unknown += 1
            else:
                self.cost += cost
            if result.ok:
                self.ok += 1
            elif result.error.kind in TRANSIENT and self._tries.get(key, 0) < REQUEUE and not self._stop.is_set():
                self._tries[key] = self._tries.get(key, 0) + 1
                self._retry_queue.append((r, t))
                return  # not finished: sent again later
            else:
                self.errors += 1
            self._tries.pop(key, None)
            self._finished_at.append(time.monotonic())


def _set_state(owner: ledger.Owner, batch_id: str, state: str) -> None:
    store = ledger.current()
    if store is None:
        return
    try:
        store.set_batch_state(owner, batch_id, state)
    except ledger.LedgerError:
        pass  # the runs themselves are recorded; only the label of the batch is stale


# Jobs running in this process, by batch id. They outlive the page that started them (a closed browser does not
# stop a batch); every lookup checks the owner, so a job is reached only by the browser (or Hub user) it belongs to.
_JOBS: dict[str, Job] = {}
_JOBS_LOCK = threading.Lock()


def job(owner: ledger.Owner, batch_id: str) -> Job | None:
    """The job of this batch running in this process, if it is the owner's."""
    with _JOBS_LOCK:
        found = _JOBS.get(batch_id or "")
    if found is None or not _same_owner(found.owner, owner):
        return None
    return found


def _same_owner(a: ledger.Owner, b: ledger.Owner) -> bool:
    return bool((a.key and a.key == b.key) or (a.hub_user and a.hub_user == b.hub_user))


def finished_rows(owner: ledger.Owner, batch_id: str) -> dict[str, ledger.BatchRow]:
    """The rows the ledger holds as done, by row key (their last run): it succeeded, or failed for a reason a
    retry cannot fix."""
    store = _store()
    rows = store.batch_rows(owner, batch_id, outputs=False)
    return {key: row for key, row in rows.items() if row.status == "ok" or row.error_kind not in TRANSIENT}


def _store() -> ledger.Ledger:
    store = ledger.current()
    if store is None:
        raise _bad("Runs are not recorded on this server", "A batch keeps its rows in the run ledger, which is off.",
                   "Start the playground with the ledger on (unset PLAYGROUND_DATABASE_URL=off, or give a database).")
    return store


def start(spec: Spec, data: Dataset, owner_state: Any, token: str | None, *, data_bytes: bytes, session: str = "",
          retry: reliability.RetryPolicy | None = None, guard: spend_guard.Guard | None = None) -> Job:
    """Keep the batch (its spec and file) in the ledger and start it. Raises InputError for a spec that cannot run."""
    spec.check(data)
    owner = owners.owner_of(owner_state)
    if not owner.key and not owner.hub_user:
        raise _bad("This browser has no owner key yet", "A batch belongs to the browser that started it.",
                   "Reload the page and start again.")
    store = _store()
    now = datetime.now(timezone.utc)
    batch_id = uuid.uuid4().hex
    try:
        store.save_batch(owner, ledger.BatchRecord(batch_id, now, now, "running", spec.task, len(data.rows), data.name,
                                                   spec.to_json(), data_bytes))
    except Exception as exc:
        raise _bad("The batch cannot be kept", ledger.describe(exc), "Check the ledger's database, then try again.") from None
    return _launch(batch_id, spec, data, owner_state, token, session, retry, {}, guard)


def _warm_prices(spec: Spec, token: str | None) -> None:
    """A chat batch's cost is tokens x the router's prices: read them once (cached, as the pickers do), so that
    each row's cost is known. A Hub that cannot be reached leaves the costs unknown, and the batch goes on."""
    if spec.task != "chat-completion":
        return
    from . import hub
    from .errors import PlaygroundError

    for target in spec.targets:
        try:
            hub.model_providers(target.model.strip(), spec.task, token=token)
        except PlaygroundError:
            pass


def _launch(batch_id, spec, data, owner_state, token, session, retry, finished, guard=None) -> Job:
    _warm_prices(spec, token)
    new = Job(batch_id, spec, data, owner_state, token, session, retry, guard=guard)
    with _JOBS_LOCK:
        _JOBS[batch_id] = new
    return new.start(finished)


def resume(batch_id: str, owner_state: Any, token: str | None, *, session: str = "",
           retry: reliability.RetryPolicy | None = None, guard: spend_guard.Guard | None = None) -> Job:
    """Go on with a batch that stopped (paused, cancelled, interrupted by a restart): its rows already done in the
    ledger are skipped. A batch still running here is resumed if paused, and returned as it is otherwise."""
    owner = owners.owner_of(owner_state)
    running = job(owner, batch_id)
    if running is not None and running.alive:
        running.resume(guard)
        return running
    store = _store()
    record = store.get_batch(owner, batch_id)
    if record is None:
        raise _bad("That batch is not in your history", "It was started in another browser, or deleted.",
                   "Start it again from its file.")
    spec = Spec.from_json(record.spec)
    data = read_data(record.file_name, record.data)
    store.set_batch_state(owner, batch_id, "running")
    return _launch(batch_id, spec, data, owner_state, token, session, retry, finished_rows(owner, batch_id), guard)


def stored(owner: ledger.Owner, batch_id: str) -> tuple[ledger.BatchRecord, Spec, Dataset] | None:
    record = _store().get_batch(owner, batch_id)
    if record is None:
        return None
    return record, Spec.from_json(record.spec), read_data(record.file_name, record.data)


def progress_of(owner: ledger.Owner, batch_id: str) -> Progress | None:
    """The progress of a batch: its job's, or (no job here: a restart, or it ended) counted from the ledger."""
    running = job(owner, batch_id)
    if running is not None:
        return running.progress()
    store = _store()
    record = store.get_batch(owner, batch_id)
    if record is None:
        return None
    spec = Spec.from_json(record.spec)
    rows = store.batch_rows(owner, batch_id, outputs=False)
    total = record.rows * len(spec.targets)
    ok = sum(1 for r in rows.values() if r.status == "ok")
    errors = sum(1 for r in rows.values() if r.status != "ok" and r.error_kind not in TRANSIENT)
    cost = sum(r.cost_usd or 0.0 for r in rows.values())
    unknown = sum(1 for r in rows.values() if r.cost_usd is None)
    state = record.state
    if state in ("running", "paused") or (state != "done" and ok + errors < total):
        state = "interrupted" if state != "cancelled" else state  # its job is gone: resume it to go on
    return Progress(batch_id, state, total, ok + errors, ok, errors, 0, cost, unknown, 0.0, None, 0, 0, 0.0)


# ------------------------------------------------------------------------------------------ results


def summarise_output(output: Any) -> tuple[str, float | None]:
    """An output as the results table shows it: (text, score). Text for text, the top label and its score for
    labels, a media file's type and size (the run link opens it), a short JSON otherwise."""
    if output is None:
        return "", None
    if isinstance(output, str):
        return output, None
    if isinstance(output, dict):
        if ledger.MEDIA_KEY in output:
            return f"<{output.get('type', 'file')}, {output.get('bytes', 0):,} bytes>", None
        choices = output.get("choices")
        if isinstance(choices, list) and choices:
            message = (choices[0] or {}).get("message") or {}
            if message.get("content"):
                return str(message["content"]), None
            if message.get("tool_calls"):
                return json.dumps(message["tool_calls"], ensure_ascii=False), None
        for key in ("generated_text", "summary_text", "translation_text", "text", "answer"):
            if isinstance(output.get(key), str):
                return output[key], _float(output.get("score"))
    if isinstance(output, list) and output:
        if all(isinstance(x, dict) for x in output):
            scored = [x for x in output if x.get("label") is not None or x.get("answer") is not None]
            if scored:
                best = max(scored, key=lambda x: _float(x.get("score")) or 0.0) if all(
                    x.get("score") is not None for x in scored) else scored[0]
                return str(best.get("label", best.get("answer"))), _float(best.get("score"))
            if len(output) == 1:
                return summarise_output(output[0])
        if all(isinstance(x, (int, float)) for x in output):
            return f"[{len(output)} numbers]", None
        if all(isinstance(x, list) for x in output):
            return f"[{len(output)} × {len(output[0])} numbers]", None
    text = json.dumps(output, ensure_ascii=False, default=str)
    return (text if len(text) <= 300 else text[:299] + "…"), None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def word_error_rate(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): the Levenshtein distance over words, after lower-casing and dropping
    punctuation. WER = edits / words, summed over rows for a corpus."""
    ref, hyp = _words(reference), _words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return previous[-1], len(ref)


def _words(text: str) -> list[str]:
    cleaned = "".join(ch if ch.isalnum() or ch.isspace() or ch == "'" else " " for ch in str(text).lower())
    return cleaned.split()


def _same(a: Any, b: Any) -> bool:
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


LABEL_RENDERERS = ("label", "answers", "fill_mask")


@dataclass
class Results:
    """A batch's results, read back from the ledger: one row per request, and the checks per target."""

    columns: list[str]
    rows: list[dict[str, Any]]
    checks: list[dict[str, Any]]  # one per target: name -> value
    confusion: list[dict[str, Any]]  # {"target", "expected", "predicted", "count"}
    run_ids: list[str | None]

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)

    def checks_markdown(self) -> str:
        if not self.checks:
            return "No results yet."
        names = [k for k in self.checks[0] if k != "target"]
        head = "| check | " + " | ".join(c["target"] for c in self.checks) + " |"
        lines = [head, "|---|" + "---|" * len(self.checks)]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(str(c.get(name, "")) for c in self.checks) + " |")
        return "\n".join(lines)


def results(owner: ledger.Owner, batch_id: str) -> Results:
    """The table and the checks of a batch (so far), from its spec, its data and its runs in the ledger."""
    found = stored(owner, batch_id)
    if found is None:
        raise _bad("That batch is not in your history", "", "Pick one of your batches.")
    _, spec, data = found
    runs = _store().batch_rows(owner, batch_id)
    return results_of(spec, data, runs)


def results_of(spec: Spec, data: Dataset, runs: dict[str, ledger.BatchRow]) -> Results:
    task = TASKS[spec.task]
    matrix = len(spec.targets) > 1
    inputs = [c for c in dict.fromkeys(spec.mapping.values()) if c]
    columns = ["row", *(["target"] if matrix else []), *inputs, *(["expected"] if spec.expected else []),
               "output", "score", "latency_ms", "cost_usd", "status", "error", "run"]
    rows, ids = [], []
    per_target: list[dict[str, Any]] = [dict(latencies=[], ok=0, errors=0, cost=0.0, unknown=0, right=0, judged=0,
                                             edits=0, words=0, valid=0, structured=0, pending=0) for _ in spec.targets]
    confusion: dict[tuple[int, str, str], int] = {}
    schema = _response_format(task, spec)
    for r, row in enumerate(data.rows):
        for t, target in enumerate(spec.targets):
            run = runs.get(row_key(r, t))
            stats = per_target[t]
            text, score = summarise_output(run.output if run and run.status == "ok" else None)
            status = "pending" if run is None else ("ok" if run.status == "ok" else
                                                    ("retry" if run.error_kind in TRANSIENT else "error"))
            expected = _cell_text(row.get(spec.expected), 10_000) if spec.expected else ""
            rows.append({
                "row": r + 1, **({"target": target.label} if matrix else {}),
                **{c: _cell_text(row.get(c)) for c in inputs},
                **({"expected": expected} if spec.expected else {}),
                "output": text, "score": None if score is None else round(score, 4),
                "latency_ms": None if run is None else round(run.latency_ms),
                "cost_usd": None if run is None else run.cost_usd, "status": status,
                "error": "" if run is None or run.status == "ok" else (run.error_title or run.error_kind or "error"),
                "run": "" if run is None else run.run_id,
            })
            ids.append(run.run_id if run else None)
            if run is None:
                stats["pending"] += 1
                continue
            if run.status != "ok":
                stats["errors"] += 1
                continue
            stats["ok"] += 1
            stats["latencies"].append(run.latency_ms)
            if run.cost_usd is None:
                stats["unknown"] += 1
            else:
                stats["cost"] += run.cost_usd
            if schema is not None:
                from .handlers import check_structured

                verdict = check_structured(text, schema)
                stats["structured"] += 1
                stats["valid"] += bool(verdict and verdict[0])
            if spec.expected and expected.strip():
                stats["judged"] += 1
                stats["right"] += _same(text, expected)
                if task.renderer in LABEL_RENDERERS:
                    pair = (t, expected.strip(), text.strip())
                    confusion[pair] = confusion.get(pair, 0) + 1
                if task.id == "automatic-speech-recognition":
                    edits, words = word_error_rate(expected, text)
                    stats["edits"] += edits
                    stats["words"] += words
    checks = [_checks(task, spec, target, stats, schema is not None) for target, stats in zip(spec.targets, per_target)]
    matrix_cells = [{"target": spec.targets[t].label, "expected": e, "predicted": p, "count": n}
                    for (t, e, p), n in sorted(confusion.items())]
    return Results(columns, rows, checks, matrix_cells, ids)


def _response_format(task: Task, spec: Spec) -> dict[str, Any] | None:
    """The structured output asked of every row (a fixed 'response_format'), as the service sends it."""
    value = spec.fixed.get("response_format")
    if task.id != "chat-completion" or not value:
        return None
    try:
        return service.prepare_input(next(s for s in task.inputs if s.name == "response_format"), value)
    except InputError:
        return None


def _checks(task: Task, spec: Spec, target: Target, s: dict[str, Any], structured: bool) -> dict[str, Any]:
    lat = sorted(s["latencies"])
    out: dict[str, Any] = {"target": target.label, "ok": s["ok"], "errors": s["errors"]}
    if s["pending"]:
        out["pending"] = s["pending"]
    if spec.expected:
        judged = s["judged"]
        name = "accuracy" if task.renderer in LABEL_RENDERERS else "exact match"
        out[name] = f"{s['right'] / judged:.1%} ({s['right']}/{judged})" if judged else "n/a"
        if task.id == "automatic-speech-recognition":
            out["word error rate"] = f"{s['edits'] / s['words']:.1%} ({s['edits']} edits / {s['words']} words)" \
                if s["words"] else "n/a"
    if structured:
        out["valid JSON (schema)"] = f"{s['valid'] / s['structured']:.1%} ({s['valid']}/{s['structured']})" \
            if s["structured"] else "n/a"
    out["latency p50"] = f"{percentile(lat, 0.5):.0f} ms" if lat else "n/a"
    out["latency p95"] = f"{percentile(lat, 0.95):.0f} ms" if lat else "n/a"
    out["total cost"] = f"${s['cost']:.6f}" + (f" + {s['unknown']} unknown" if s["unknown"] else "")
    return out


def export(result: Results, fmt: str, folder: str) -> str:
    """The results table as a file: CSV, JSONL or Parquet; returns its path."""
    from pathlib import Path

    fmt = (fmt or "csv").lower()
    path = Path(folder) / f"batch-results.{fmt}"
    frame = result.frame()
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose csv, jsonl or parquet")
    return str(path)
