"""Sign in with Hugging Face. Unit: the signed-in token and user are read from Gradio's session (the local
stand-in's placeholder never is), and a run's token is the pasted one, else the signed-in one, else the header.
Launched: Gradio's local stand-in (PLAYGROUND_SIGNIN=1, the machine logged in with HF_TOKEN) signs in the machine's
Hub user; that session's runs use the machine's token and are recorded as that user's. A session holding a real
sign-in (the cookie Gradio's middleware signs, as on a Space) runs with the signed-in user's own token."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from types import SimpleNamespace

import httpx
import itsdangerous
import pytest
from gradio_client import Client

from playground import handlers, hub, ledger, signin
from tests.conftest import TOKEN, _free_port
from tests.fakes.server import FAKE_USER, HUB_HOSTS

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
USER_TOKEN = "hf_" + "SignedIn" + "u" * 26  # the signed-in visitor's (fake) OAuth token


def request_with(info: dict | None):
    return SimpleNamespace(session={"oauth_info": info} if info else {}, headers={})


def oauth_info(token: str, scope: str = "openid profile inference-api", user: str = FAKE_USER, expires_in: int = 3600):
    return {"access_token": token, "scope": scope, "expires_at": int(time.time()) + expires_in,
            "userinfo": {"preferred_username": user, "name": "Test User"}}


# ------------------------------------------------------------------------------------------ unit


def test_signed_in_token_and_user_come_from_the_session():
    assert signin.token_of(request_with(oauth_info(USER_TOKEN))) == USER_TOKEN
    assert signin.user_of(request_with(oauth_info(USER_TOKEN))) == FAKE_USER
    assert signin.token_of(request_with(oauth_info(signin.MOCK_TOKEN))) is None  # the stand-in's placeholder
    assert signin.token_of(request_with(oauth_info(USER_TOKEN, expires_in=-5))) is None  # expired
    assert signin.token_of(request_with(None)) is None and signin.token_of(None) is None

    class NoMiddleware:  # Starlette asserts when there is no SessionMiddleware (sign-in off)
        @property
        def session(self):
            raise AssertionError("SessionMiddleware must be installed")

    assert signin.token_of(NoMiddleware()) is None


def test_a_run_sends_the_pasted_token_then_the_signed_in_one_then_the_header():
    req = request_with(oauth_info(USER_TOKEN))
    req.headers = {"authorization": f"Bearer {TOKEN}"}
    assert handlers.request_token(None, "hf_pasted" + "p" * 25, req) == "hf_pasted" + "p" * 25
    assert handlers.request_token(None, None, req) == USER_TOKEN
    assert handlers.request_token(None, None, SimpleNamespace(session={}, headers={"authorization": f"Bearer {TOKEN}"})) == TOKEN


def test_enabled_on_a_space_with_oauth_or_locally_when_asked(monkeypatch):
    for name in ("SPACE_ID", "SYSTEM", "OAUTH_CLIENT_ID", signin.ENV, "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert not signin.enabled()
    monkeypatch.setenv(signin.ENV, "1")
    assert not signin.enabled()  # the stand-in needs the machine's login, and there is none: off, with a warning
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert signin.enabled() and signin.stand_in()
    monkeypatch.setenv("SPACE_ID", "someone/playground")
    monkeypatch.setenv("SYSTEM", "spaces")  # as on a Space (what Gradio reads)
    assert not signin.enabled()  # a Space without hf_oauth: true
    monkeypatch.setenv("OAUTH_CLIENT_ID", "client-id")
    assert signin.enabled() and not signin.stand_in()


def test_token_line_names_the_signed_in_user_never_the_token(fake):
    hub.clear_cache()
    profile = SimpleNamespace(username=FAKE_USER)
    line, bill_to = signin.token_line(None, profile, SimpleNamespace(token=USER_TOKEN, scope="openid inference-api"))
    assert f"Signed in as **{FAKE_USER}**" in line and "may call Inference Providers" in line
    assert USER_TOKEN not in line and "did not grant" not in line
    line, _ = signin.token_line(None, profile, SimpleNamespace(token=USER_TOKEN, scope="openid profile"))
    assert "did not grant `inference-api`" in line and "hf_oauth_scopes" in line
    line, _ = signin.token_line(None, profile, SimpleNamespace(token=signin.MOCK_TOKEN, scope="openid profile"))
    assert "local stand-in" in line and signin.MOCK_TOKEN not in line
    line, _ = signin.token_line(None, None, None)
    assert "sign in with Hugging Face" in line


# ------------------------------------------------------------------------------------------ launched: the stand-in


@pytest.fixture(scope="module")
def signin_app(fake_hf):
    """The playground with sign-in on locally (Gradio's stand-in), the machine logged in with HF_TOKEN."""
    saved = pytest.MonkeyPatch()
    saved.setenv(signin.ENV, "1")
    saved.setenv("HF_TOKEN", TOKEN)
    from playground.ui import CSS, build_app

    hub.clear_cache()
    demo = build_app()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), css=CSS, quiet=True)
    yield demo
    demo.close()
    saved.undo()


def session_cookie(response: httpx.Response) -> str:
    """The session cookie Gradio set (Secure: httpx would not send it back over http, so the test does)."""
    cookies = [h for h in response.history + [response] for h in h.headers.get_list("set-cookie")]
    sessions = [c.split(";", 1)[0] for c in cookies if c.startswith("session=")]
    assert sessions, "no session cookie: the sign-in did not happen"
    return sessions[-1]  # the callback's, holding the sign-in


def run_classification(url: str, cookie: str) -> None:
    client = Client(url, verbose=False, headers={"cookie": cookie})
    client.predict(provider="hf-inference", model=SST2, text="I like you. I love you",
                   api_name="/text_classification")


def router_tokens(fake) -> list[str]:
    return [r.headers.get("authorization", "") for r in fake.received
            if r.host not in HUB_HOSTS and not r.path.startswith("/api/")]


def test_local_stand_in_signs_in_the_machines_user_and_runs_with_the_machines_token(signin_app, fake):
    page = httpx.get(signin_app.local_url).text
    assert "Sign in with Hugging Face" in page or "LoginButton" in page or "loginbutton" in page.lower()
    signed = httpx.get(signin_app.local_url + "login/huggingface", follow_redirects=True)
    cookie = session_cookie(signed)
    run_classification(signin_app.local_url, cookie)
    assert router_tokens(fake) == [f"Bearer {TOKEN}"]  # the machine's token; the placeholder is never sent
    assert not any(signin.MOCK_TOKEN in json.dumps(dict(r.headers)) for r in fake.received)
    ledger.current().flush()
    mine = ledger.current().list_runs(ledger.Owner("", FAKE_USER), task="text-classification").runs
    assert mine and mine[0].hub_user == FAKE_USER and mine[0].source == "tab"  # recorded as the user's run


def forged_session(info: dict) -> str:
    """The cookie Gradio's SessionMiddleware would set for this OAuth answer (its secret derives from
    OAUTH_CLIENT_SECRET, empty here), as a Space's real sign-in leaves it."""
    secret = hashlib.sha256(b"-v4").hexdigest()
    data = base64.b64encode(json.dumps({"oauth_info": info}).encode())
    return "session=" + itsdangerous.TimestampSigner(secret).sign(data).decode()


def test_a_signed_in_session_runs_with_the_users_own_token(signin_app, fake):
    run_classification(signin_app.local_url, forged_session(oauth_info(USER_TOKEN)))
    assert router_tokens(fake) == [f"Bearer {USER_TOKEN}"]
    ledger.current().flush()
    runs = ledger.current().list_runs(ledger.Owner("", FAKE_USER), task="text-classification").runs
    assert runs[0].hub_user == FAKE_USER
    assert USER_TOKEN not in json.dumps([r.__dict__ for r in runs], default=str)

