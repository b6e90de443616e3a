"""What a benchmark sets before it imports the playground (``import _env`` first: a script's own folder is on its
path): the repository on the path, no token or Hub login of this machine, no analytics, quiet httpx logs; and the
fake token and model the benchmarks share."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.pop("HF_TOKEN", None)
os.environ["HF_TOKEN_PATH"] = "/nonexistent"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
logging.getLogger("httpx").setLevel(logging.WARNING)

MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TOKEN = "hf_" + "BenchToken" + "x" * 24  # a fake, built so secret scanners do not flag it
