"""Sign in with Hugging Face: a signed-in visitor's runs use their own OAuth token, which is never shown, stored
or logged.

    enabled()              -> bool           on a Space with OAuth (``hf_oauth: true``), or PLAYGROUND_SIGNIN=1 locally
    button()               -> gr.LoginButton the header's "Sign in with Hugging Face"
    token_of(request)      -> str | None     the signed-in visitor's token (for ``handlers.request_token``)
    user_of(request)       -> str | None     their Hub user name (the ledger's ``hub_user`` for their runs)
    token_line(...)        -> (line, bill-to) the header's token line on load, saying who is signed in

Gradio keeps the OAuth answer in its signed session cookie (``request.session["oauth_info"]``); nothing here copies
it anywhere. On a Space, the scopes are the Space's ``hf_oauth_scopes``: the playground asks for ``inference-api``
(calls to Inference Providers on the user's account) and says so when the sign-in did not grant it.

Locally Gradio has no real sign-in: ``gr.LoginButton`` gets a stand-in (``gradio/oauth.py``,
``_add_mocked_oauth_routes``). Clicking it signs in *the machine's own Hub user* (the ``whoami`` of HF_TOKEN or
``hf auth login``, read once at launch; launch fails without one) and gives the session a placeholder token,
``mock-oauth-token-for-local-dev``, that the Hub refuses. So locally the runs of a signed-in session use the
machine's token, as they would unsigned, and the line says so; the placeholder is never sent anywhere.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import gradio as gr
from gradio.utils import get_space

from . import pickers

__all__ = ["ENV", "INFERENCE_SCOPE", "MOCK_TOKEN", "enabled", "stand_in", "button", "token_of", "user_of",
           "token_line"]

ENV = "PLAYGROUND_SIGNIN"
INFERENCE_SCOPE = "inference-api"  # the OAuth scope that lets a token call Inference Providers
MOCK_TOKEN = "mock-oauth-token-for-local-dev"  # what Gradio's local stand-in puts in the session
_log = logging.getLogger(__name__)


def stand_in() -> bool:
    """Not on a Space: the button signs in the machine's own Hub user (Gradio's local stand-in)."""
    return get_space() is None


def enabled() -> bool:
    """Sign-in is offered on a Space whose README turns OAuth on (``hf_oauth: true`` sets OAUTH_CLIENT_ID), or
    locally with PLAYGROUND_SIGNIN=1, where Gradio's stand-in needs the machine to be logged in to the Hub."""
    if not stand_in():
        return bool(os.environ.get("OAUTH_CLIENT_ID"))
    if os.environ.get(ENV, "").strip().lower() not in ("1", "true", "yes"):
        return False
    from huggingface_hub import get_token

    if not get_token():
        _log.warning("%s=1: Gradio's local sign-in stand-in signs in this machine's Hub user, and there is none "
                     "(set HF_TOKEN or run `hf auth login`). Sign-in is off.", ENV)
        return False
    return True


def button() -> gr.LoginButton:
    return gr.LoginButton("Sign in with Hugging Face", logout_value="Sign out ({})", size="sm", scale=0,
                          elem_classes=["sign-in"])


def _info(request: Any) -> dict[str, Any] | None:
    """The session's OAuth answer, while it is valid (None without sign-in, or without a session)."""
    if request is None:
        return None
    # as Gradio reads it (gradio.helpers._session_from_request): the Starlette scope's session, which is absent
    # without SessionMiddleware (sign-in off); a queued gr.Request rebuilt from kwargs may carry ``.session``
    underlying = getattr(request, "request", None) or request
    scope = getattr(underlying, "scope", None)
    try:
        session = scope.get("session") if isinstance(scope, dict) else getattr(underlying, "session", None)
    except (AssertionError, AttributeError, KeyError):
        return None
    info = session.get("oauth_info") if isinstance(session, dict) or hasattr(session, "get") else None
    if not isinstance(info, dict) or (info.get("expires_at") or time.time() + 1) < time.time():
        return None
    return info


def token_of(request: Any) -> str | None:
    """The signed-in visitor's token; None when nobody is signed in, or for the local stand-in's placeholder."""
    info = _info(request)
    token = (info or {}).get("access_token")
    return token if token and token != MOCK_TOKEN else None


def user_of(request: Any) -> str | None:
    """The signed-in visitor's Hub user name."""
    info = _info(request)
    return ((info or {}).get("userinfo") or {}).get("preferred_username") or None


def token_line(token: str | None, profile: gr.OAuthProfile | None = None, oauth: gr.OAuthToken | None = None):
    """The token line on load: a token pasted in this tab first, else the signed-in user's (checked like any other,
    never shown), else the machine's. Returns (line, bill-to choices), like ``pickers.token_status``."""
    if (token or "").strip() or profile is None:
        line, bill_to = pickers.token_status(token)
        if not (token or "").strip():
            line += "\n\n👤 Or **sign in with Hugging Face** to run with your own account."
        return line, bill_to
    who = f"👤 Signed in as **{profile.username}**"
    if oauth is None or oauth.token == MOCK_TOKEN:
        line, bill_to = pickers.token_status(None)
        return (f"{who} (Gradio's local stand-in: the machine's own Hub user; runs use the machine's token).\n\n"
                f"{line}"), bill_to
    line, bill_to = pickers.token_status(oauth.token)
    scopes = (oauth.scope or "").split()
    if INFERENCE_SCOPE not in scopes:
        who += (f" · ⚠️ the sign-in did not grant `{INFERENCE_SCOPE}`, so Inference Providers will refuse its calls: "
                f"add `hf_oauth_scopes: [{INFERENCE_SCOPE}]` to the Space's README, then sign out and in again")
    return f"{who}: runs use your sign-in (never shown or stored).\n\n{line}", bill_to

