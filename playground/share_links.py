"""Share links: a URL that opens the playground on a run's task, model, revision, provider, text inputs and
parameters; and read-only snapshots, which carry its files and its result too, once its owner publishes one.

    ?share=<text>          the run's request as compact JSON (zlib, then base64url): text travels in the link
                           (files are left out, and named as left out); anyone can open it, nothing is stored
    ?snapshot=<id>         a snapshot the owner published (``Ledger.publish``): the run's card, read-only, with
                           its files and result, for whoever has the link, until the owner withdraws it

A link never holds a token or an owner key: it is made from the ledger's record (which keeps neither), only from
the fields named above, and scrubbed of anything shaped like a Hugging Face token. A share link opened fills a
tab through ``run_cards.tab_values``, like a reopened run or a dropped card.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any
from urllib.parse import quote

from . import capture
from .ledger import MEDIA_KEY

__all__ = ["SHARE_KIND", "MAX_LINK_CHARS", "share_query", "card_of_share", "snapshot_query", "ShareError"]

SHARE_KIND = "hf-inference-playground/share-link"
MAX_LINK_CHARS = 8000  # browsers and proxies accept URLs of this length; a longer request goes as a snapshot


class ShareError(ValueError):
    """A share link that cannot be opened or made; the message says why and what to do."""


def _text_only(value: Any, dropped: list[str], where: str = "") -> Any:
    if isinstance(value, dict):
        if MEDIA_KEY in value:
            dropped.append(where or "a file")
            return None
        return {k: _text_only(v, dropped, where or k) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_only(v, dropped, where) for v in value]
    return value


def share_query(card: dict[str, Any]) -> str:
    """``?share=…`` for a run card (``run_cards.card_of``): its task, model, revision, provider asked, text inputs
    and parameters. Raises ShareError when the request is too long for a link."""
    request = card.get("request") or {}
    dropped: list[str] = []
    inputs = _text_only(request.get("inputs") or {}, dropped)
    body = {"kind": SHARE_KIND, "task": card.get("task"), "model": card.get("model"),
            "revision": card.get("revision") or "main", "provider": (card.get("provider") or {}).get("asked") or "auto",
            "inputs": inputs, "parameters": request.get("parameters") or {},
            **({"files_left_out": sorted(set(dropped))} if dropped else {})}
    text = capture.redact_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    packed = base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")
    if len(packed) > MAX_LINK_CHARS:
        raise ShareError(f"This run's inputs are too long for a link ({len(packed):,} characters): publish a "
                         "snapshot instead, which keeps them on the server.")
    return f"?share={packed}"


def card_of_share(value: str) -> dict[str, Any]:
    """The card a share link's ``share`` value stands for (no result, no files): what ``run_cards.tab_values``
    fills a tab from. Raises ShareError for a damaged or foreign link."""
    try:
        packed = value.strip() + "=" * (-len(value.strip()) % 4)
        body = json.loads(zlib.decompress(base64.urlsafe_b64decode(packed.encode()), bufsize=2**16))
    except (binascii.Error, zlib.error, ValueError, UnicodeDecodeError):
        raise ShareError("This share link is damaged (cut short when it was copied?): ask for it again.") from None
    from .tasks import TASKS

    if not isinstance(body, dict) or body.get("kind") != SHARE_KIND or body.get("task") not in TASKS:
        raise ShareError("This link is not a share link of this playground's tasks.")
    return {"shared": True, "task": body["task"], "model": body.get("model") or "", "revision": body.get("revision"),
            "provider": {"asked": body.get("provider") or "auto"},
            "request": {"inputs": body.get("inputs") or {}, "parameters": body.get("parameters") or {}},
            "files_left_out": body.get("files_left_out") or []}


def snapshot_query(snapshot_id: str) -> str:
    return f"?snapshot={quote(snapshot_id)}"
