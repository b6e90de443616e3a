"""Public mode (playground/public_mode.py): when it is on, tokens from each visitor only, the upload limit,
and the local backend's limits per session. The network rule itself is tested in test_netguard.py."""

from __future__ import annotations

import inspect
import json
from types import SimpleNamespace

import gradio as gr
import httpx
import pytest

from playground import handlers, hub, netguard, public_mode, service, ui
from playground.reliability import NO_RETRY
from playground.service import LOCAL, RunRequest, Target
from playground.tasks import TASKS
from tests.conftest import TOKEN, _free_port

HOST_TOKEN = "hf_" + "HostToken" + "y" * 25  # the host's own (fake) token, built so secret scanners do not flag it
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


@pytest.fixture
def public(monkeypatch, fake):
    """``public(allow="...", **env)`` turns public mode on as a Space would (``SPACE_ID``), with that allow-list
    and environment; it is turned off again after the test, and the shared client made again without the guard."""

    def turn_on(allow: str = "", **env: str) -> public_mode.PublicMode:
        monkeypatch.setenv("SPACE_ID", "acme/playground")
        monkeypatch.setenv(netguard.ALLOW_ENV, allow)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return public_mode.configure()

    yield turn_on
    monkeypatch.undo()
    public_mode.configure()
    public_mode.LOCAL_RUNS.clear()


def _sent_headers(fake) -> list[dict[str, str]]:
    return [{k.lower(): v for k, v in r.headers.items()} for r in fake.received]


# ------------------------------------------------------------------------------------------ when it is on


@pytest.mark.parametrize("flag, env, on", [
    (False, {}, False),  # `make run` on a laptop
    (True, {}, True),  # --public
    (False, {"SPACE_ID": "acme/playground"}, True),  # on a Space
    (False, {"PLAYGROUND_PUBLIC": "1"}, True),
    (False, {"PLAYGROUND_PUBLIC": "0"}, False),
])
def test_public_mode_is_on_with_the_flag_on_a_space_or_by_environment(flag, env, on):
    config = public_mode.from_environment(flag, env)
    assert config.enabled is on
    assert config.launch_options() == ({"max_file_size": 20 * 1024**2} if on else {})


def test_settings_are_read_and_a_bad_one_is_named():
    config = public_mode.from_environment(True, {
        netguard.ALLOW_ENV: "gpu-box.internal, 10.0.0.0/8, *.corp.example, 192.168.1.5",
        "PLAYGROUND_MAX_FILE_SIZE": "5mb",
        "PLAYGROUND_LOCAL_MAX_TOKENS": "64", "PLAYGROUND_LOCAL_RUNS_PER_MINUTE": "3"})
    allow = config.rule.allow
    assert allow.names("gpu-box.internal") and allow.names("a.corp.example") and not allow.names("corp.example.org")
    assert allow.holds("10.9.8.7") and allow.holds("192.168.1.5") and not allow.holds("192.168.1.6")
    assert (config.max_file_size, config.local_max_tokens, config.local_runs_per_minute) == (5 * 1024**2, 64, 3)
    for env, named in (({netguard.ALLOW_ENV: "http://x/"}, "http://x/"), ({"PLAYGROUND_MAX_FILE_SIZE": "big"}, "big"),
                       ({"PLAYGROUND_LOCAL_RUNS_PER_MINUTE": "0"}, "0")):
        with pytest.raises(ValueError, match=named):
            public_mode.from_environment(True, env)


# ------------------------------------------------------------------------------------------ tokens


def test_a_visitor_with_no_token_never_sends_the_hosts(public, fake, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HOST_TOKEN)
    public(allow="127.0.0.1")  # the fake router stands for a custom endpoint the host allows
    endpoint = service.run(RunRequest("text-classification", "any/model", {"text": "I like you"},
                                      target=Target("custom", endpoint_url=f"{fake.url}/models/{SST2}")))
    routed = service.run(RunRequest("text-classification", SST2, {"text": "I like you"},
                                    target=Target("hf-inference", retry=NO_RETRY)))
    assert endpoint.ok, endpoint.error
    assert routed.error.kind == "auth" and "your own Hugging Face token" in routed.error.title
    assert "never the host's" in routed.error.message and "Local" in routed.error.fix
    sent = _sent_headers(fake)
    assert sent and not any(HOST_TOKEN in value for headers in sent for value in headers.values())
    assert not any("authorization" in headers for headers in sent)  # the endpoint got no token at all


def test_the_same_run_on_a_laptop_does_send_the_hosts_token(fake, monkeypatch):
    """The control: outside public mode huggingface_hub adds the machine's token (so the test above can fail)."""
    monkeypatch.setenv("HF_TOKEN", HOST_TOKEN)
    result = service.run(RunRequest("text-classification", "any/model", {"text": "I like you"},
                                    target=Target("custom", endpoint_url=f"{fake.url}/models/{SST2}")))
    assert result.ok, result.error
    assert _sent_headers(fake)[-1].get("authorization") == f"Bearer {HOST_TOKEN}"


def test_a_visitors_own_token_is_sent_and_the_hosts_never(public, fake, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HOST_TOKEN)
    public()
    own = service.run(RunRequest("text-classification", SST2, {"text": "I like you"},
                                 target=Target("hf-inference", token=TOKEN)))
    pasted = service.run(RunRequest("text-classification", SST2, {"text": "I like you"},
                                    target=Target("hf-inference", token=HOST_TOKEN, retry=NO_RETRY)))
    assert own.ok, own.error
    assert _sent_headers(fake)[-1].get("authorization") == f"Bearer {TOKEN}"
    assert not any(HOST_TOKEN in value for headers in _sent_headers(fake) for value in headers.values())
    assert pasted.error.kind == "input" and "host's own token" in pasted.error.title
    assert HOST_TOKEN not in json.dumps(pasted.raw()) + pasted.error.display()


def test_the_page_and_the_hub_lookups_ignore_the_hosts_token(public, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HOST_TOKEN)
    assert ui.default_provider() == "auto" and hub.check_token(None) is not None  # a laptop uses it
    public()
    assert public_mode.host_token() is None
    assert ui.default_provider() == LOCAL
    assert hub.check_token(None) is None
    assert "your own token" in ui._token_note() and "host's is never used" in ui._token_note()


# ------------------------------------------------------------------------------------------ uploads


def test_an_oversized_upload_is_refused_with_the_limit(public):
    config = public(PLAYGROUND_MAX_FILE_SIZE="1kb")
    with gr.Blocks() as demo:
        gr.File()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True,
                **config.launch_options())
    try:
        def upload(size: int) -> httpx.Response:
            return httpx.post(f"{demo.local_url}gradio_api/upload", files={"files": ("a.bin", b"x" * size)})

        small, large = upload(1000), upload(1025)
    finally:
        demo.close()
    assert small.status_code == 200
    assert large.status_code == 413
    assert "maximum allowed size of 1024 bytes" in large.text


# ------------------------------------------------------------------------------------------ local backend


def test_each_session_gets_a_few_local_runs_a_minute():
    clock = SimpleNamespace(now=0.0)
    runs = public_mode.SessionRuns(clock=lambda: clock.now)
    for _ in range(3):
        runs.admit("alice", 3)
    with pytest.raises(public_mode.RateLimitError) as refused:
        runs.admit("alice", 3)
    runs.admit("bob", 3)  # another session is not held back
    assert refused.value.retry_after == pytest.approx(60) and "Wait 60 s" in refused.value.fix
    clock.now = 61.0
    runs.admit("alice", 3)  # a minute later


def test_new_sessions_from_one_address_do_not_get_more_local_runs():
    """Opening a new session (a reload, a script) resets the session's count, not the address's: that one allows
    ADDRESS_SHARE sessions' worth, then refuses every session from there; another address is not held back."""
    clock = SimpleNamespace(now=0.0)
    runs = public_mode.SessionRuns(clock=lambda: clock.now)
    share = public_mode.ADDRESS_SHARE
    for session in range(share):
        for _ in range(2):
            runs.admit(f"fresh-{session}", 2, "203.0.113.7")
    with pytest.raises(public_mode.RateLimitError):
        runs.admit("yet-another-session", 2, "203.0.113.7")
    runs.admit("someone-else", 2, "198.51.100.1")
    clock.now = 61.0
    runs.admit("yet-another-session", 2, "203.0.113.7")


@pytest.mark.parametrize("peer, forwarded, address", [
    ("93.184.216.34", None, "93.184.216.34"),  # no proxy
    ("93.184.216.34", "10.0.0.1", "93.184.216.34"),  # a public peer's X-Forwarded-For is its own words: ignored
    ("127.0.0.1", "198.51.100.9", "198.51.100.9"),  # a reverse proxy on this host
    ("10.1.2.3", "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # the proxy's own entry, not what the visitor sent
    ("127.0.0.1", None, "127.0.0.1"),
    (None, None, ""),
])
def test_the_visitors_address_is_the_one_the_proxy_saw(peer, forwarded, address):
    request = SimpleNamespace(client=SimpleNamespace(host=peer) if peer else None,
                              headers={"x-forwarded-for": forwarded} if forwarded else {})
    assert public_mode.client_address(request) == address


def test_local_replies_are_capped_however_they_are_asked(public):
    public(PLAYGROUND_LOCAL_MAX_TOKENS="50")
    chat, notes = public_mode.limit_local("chat-completion", {"max_tokens": 4000, "extra_body": {
        "max_completion_tokens": 9000, "top_k": 5}}, "s")
    assert chat == {"max_tokens": 50, "extra_body": {"top_k": 5}}
    assert notes == ["reply limited to 50 tokens (public mode)"]
    assert public_mode.limit_local("chat-completion", {}, "s") == ({"max_tokens": 50}, [])
    assert public_mode.limit_local("chat-completion", {"max_tokens": 20}, "s") == ({"max_tokens": 20}, [])
    assert public_mode.limit_local("text-generation", {"max_new_tokens": 900}, "s")[0] == {"max_new_tokens": 50}
    assert public_mode.limit_local("feature-extraction", {}, "s") == ({}, [])


def test_a_session_over_its_local_runs_is_refused_before_anything_is_sent(public, fake, monkeypatch):
    public(PLAYGROUND_LOCAL_RUNS_PER_MINUTE="2")
    monkeypatch.setattr(handlers, "_local_loading", lambda *args: None)  # (the loading note would start the engine)
    handler = handlers.handler_for(TASKS["feature-extraction"])
    names = [n for n, p in inspect.signature(handler).parameters.items() if p.kind != p.KEYWORD_ONLY]
    visitor = SimpleNamespace(session_hash="session-a")
    values = dict(provider=LOCAL, model="sentence-transformers/all-MiniLM-L6-v2", revision="main", text="hello",
                  request=visitor)
    for _ in range(2):
        public_mode.LOCAL_RUNS.admit("session-a", 2)  # two runs this minute already
    _, status, raw = handler(*[values.get(name) for name in names])
    assert "2 runs a minute per visitor" in status and "paste your own Hugging Face token" in status
    assert json.loads(raw)["exchanges"] == [] and json.loads(raw)["error"]["kind"] == "rate_limit"
    assert not fake.received


@pytest.mark.slow
def test_the_local_backend_answers_in_public_mode_with_its_reply_capped(public):
    """The one loopback server the app reaches itself (a real engine process): allowed, and limited."""
    public(PLAYGROUND_LOCAL_MAX_TOKENS="5")
    result = service.run(RunRequest("chat-completion", "HuggingFaceTB/SmolLM2-135M-Instruct",
                                    {"messages": [{"role": "user", "content": "Tell me a long story."}]},
                                    params={"max_tokens": 500}, target=Target(LOCAL), session="s"))
    assert result.ok, result.error
    assert result.usage["completion_tokens"] <= 5
    assert "reply limited to 5 tokens (public mode)" in result.status_line()
    assert result.exchanges[-1].request_body["max_tokens"] == 5
