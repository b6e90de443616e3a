"""Whose runs are whose: an anonymous owner key per browser, and the Hub user a checked token names.

    browser (gr.BrowserState, localStorage)     {"key": "<id>.<sig>", "hub_user": "alice", "since": ..., "proof": "<sig>"}
        | demo.load(load)                         verified here; a missing or forged key is replaced by a new one
    session (gr.State)                          the same value, verified: what run handlers and pages read
        | owner_for(key, hub_user)  ->  ledger.Owner(derived key, hub user)     every ledger read and write

A key is a random id signed with HMAC-SHA256 under a secret kept in the data directory (``owner-secret``, created
once, readable by its owner only; ``PLAYGROUND_OWNER_SECRET`` gives it instead, for replicas that share a
database). Only keys this server issued are accepted, so no one can type a key into another's history; the ledger
receives a second HMAC of the id, and keeps only its SHA-256.

A run sending a token the Hub has checked (the token line's ``whoami``, cached) is recorded under its Hub user
too. A browser that showed a checked token (the token line checked it: ``link_checked``; or a run sent it) is
linked to that user in the ledger (``Ledger.link``, for ``ledger.store.LINK_DAYS``), so its pages without a token
box (History, Usage, a reopened run) show that user's runs from every browser too. The link lives on the server:
nothing is written to the browser after load (writing a ``gr.BrowserState`` from the token's events stalls
Gradio's page for many seconds on this app's large page). A signed-in user's name (``gr.OAuthProfile``) joins
the same way, through ``link_checked``'s ``hub_user``. ``remember_hub_user`` (a signed claim kept in the
browser's value, for ``CLAIM_DAYS``) is still honoured when present.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

import gradio as gr

from . import ledger

__all__ = ["owner_for", "owner_of", "hub_user_of", "new_key", "load", "remember_hub_user", "run_fields", "link_checked",
           "browser_state", "SECRET_FILE", "STORAGE_KEY"]

SECRET_FILE = "owner-secret"
STORAGE_KEY = "hf-playground-owner"  # the localStorage entry: fixed, so the key survives restarts
# gr.BrowserState sends its secret to the page (it only obscures localStorage): it is not the signing secret.
_STORAGE_OBSCURER = "hf-inference-playground-owner-v1"
CLAIM_DAYS = 7
_secrets_by_dir: dict[str, bytes] = {}


def _secret() -> bytes:
    """The signing secret: ``PLAYGROUND_OWNER_SECRET``, else ``<data dir>/owner-secret`` (made on first use,
    mode 0600; made atomically, so processes starting together agree on one)."""
    given = os.environ.get("PLAYGROUND_OWNER_SECRET", "").strip()
    if given:
        return given.encode()
    folder = ledger.data_dir()
    cached = _secrets_by_dir.get(str(folder))
    if cached is not None:
        return cached
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = folder / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # fails if another process made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    value = Path(path).read_text().strip().encode()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable secret: delete it and a new one is made")
    _secrets_by_dir[str(folder)] = value
    return value


def _sign(*parts: str) -> str:
    return hmac.new(_secret(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def new_key() -> str:
    """A new browser's key: a random id and its signature."""
    ident = secrets.token_urlsafe(18)
    return f"{ident}.{_sign('owner', ident)}"


def _verified_id(browser_key: Any) -> str | None:
    """The id of a key this server issued (None for anything else)."""
    if isinstance(browser_key, dict):
        browser_key = browser_key.get("key")
    if not isinstance(browser_key, str) or browser_key.count(".") != 1:
        return None
    ident, sig = browser_key.split(".")
    return ident if ident and hmac.compare_digest(sig, _sign("owner", ident)) else None


def owner_for(browser_key: Any, hub_user: str | None = None) -> ledger.Owner:
    """The ledger's Owner for a browser key (its value, or the browser state holding it) and a Hub user name
    that the caller has verified (a checked token's, or ``hub_user_of``). A key this server did not issue owns
    nothing: it sees only the Hub user's runs, if any."""
    ident = _verified_id(browser_key)
    key = _sign("ledger-owner", ident) if ident else ""
    return ledger.Owner(key, (hub_user or "").strip() or None)


def hub_user_of(state: Any) -> str | None:
    """The Hub user a browser state claims, when this server signed the claim for its key less than
    ``CLAIM_DAYS`` ago."""
    if not isinstance(state, dict) or not state.get("hub_user") or _verified_id(state) is None:
        return None
    user, since = str(state["hub_user"]), str(state.get("since", ""))
    try:
        fresh = time.time() - float(since) < CLAIM_DAYS * 86400
    except ValueError:
        return None
    proof = str(state.get("proof", ""))
    return user if fresh and hmac.compare_digest(proof, _sign("hub-user", state["key"], user, since)) else None


def owner_of(state: Any) -> ledger.Owner:
    """The Owner of a session's browser state (``load``'s value): its key and its claimed Hub user."""
    return owner_for(state, hub_user_of(state))


def run_fields(state: Any, source: str, token: str | None = None) -> dict[str, Any]:
    """RunRequest's ``source``, ``owner`` and ``hub_user`` for a run asked from a page (``source``) by this
    session, sending ``token``. A caller with no owner key (gradio_client, curl) records an ``api`` run. The Hub
    user is the one the token line checked for this token (``hub.checked_user``: no request to the Hub), else
    the browser's claim."""
    from . import hub

    owner = owner_of(state)
    user = hub.checked_user(token) if (token or "").strip() else None
    if not owner.key:
        return {"source": "api", "owner": "", "hub_user": user}
    return {"source": source, "owner": owner.key, "hub_user": user or owner.hub_user}


def link_checked(token: str | None, state: Any, hub_user: str | None = None) -> None:
    """After the token line checked the token: link this browser's owner key to the token's Hub user (or to a
    signed-in user's name, ``hub_user``), so that it sees that user's runs. Nothing when the token was not checked
    (``hub.checked_user``: no request to the Hub) or the browser has no key, and nothing written when the browser
    was linked to that user a moment ago (``Ledger.link``: the token line checks a token when pasted, then again on
    blur); a ledger fault is logged, never raised."""
    from . import hub

    user = (hub_user or "").strip() or (hub.checked_user(token) if (token or "").strip() else None)
    store = ledger.current()
    if not user or store is None:
        return
    try:
        store.link(owner_of(state), user)
    except Exception as exc:  # noqa: BLE001 - a ledger fault must not break the token line
        import logging

        logging.getLogger(__name__).warning("owners: browser not linked to its Hub user: %s", ledger.describe(exc))


# ------------------------------------------------------------------------------------------ the page


def browser_state() -> gr.BrowserState:
    """The browser's owner value, in localStorage under a fixed entry (the same on every page and restart)."""
    return gr.BrowserState(None, storage_key=STORAGE_KEY, secret=_STORAGE_OBSCURER)


def load(stored: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``demo.load``: the browser's value checked (a new key when it holds none this server issued, an expired or
    forged Hub user claim removed). Returns it twice: for the browser, and for the session's gr.State."""
    if _verified_id(stored) is None:
        stored = {"key": new_key()}
    elif hub_user_of(stored) is None:
        stored = {"key": stored["key"]}
    else:
        stored = {k: stored[k] for k in ("key", "hub_user", "since", "proof")}
    return stored, stored


def claim(state: Any, hub_user: str | None) -> dict[str, Any]:
    """The browser value with a signed claim of ``hub_user`` (verified by the caller), or without any."""
    key = state.get("key") if isinstance(state, dict) else None
    if _verified_id(key) is None:
        key = new_key()
    if not hub_user:
        return {"key": key}
    since = str(int(time.time()))
    return {"key": key, "hub_user": hub_user, "since": since, "proof": _sign("hub-user", key, hub_user, since)}


def remember_hub_user(stored: Any, token: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """After the token line checked the token: claim its Hub user (``hub.check_token``, cached, so no second
    ``whoami``), or drop the claim when there is no token or the Hub refused it. An unreachable Hub changes
    nothing."""
    from . import hub
    from .errors import PlaygroundError

    try:
        status = hub.check_token(token)
    except PlaygroundError as err:
        if err.kind != "auth":
            return gr.skip(), gr.skip()
        status = None
    user = status.user if status is not None and status.user != "?" else None
    value = claim(stored, user)
    return value, value
