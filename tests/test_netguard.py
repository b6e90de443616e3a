"""Public mode's network rule (playground/netguard.py), through the real InferenceClient and Gradio's own
downloads against real local servers: every address class refused, after DNS resolution, on every redirect,
without rebinding between check and connect; the allow-list; the app's own local backend."""

from __future__ import annotations

import asyncio
import io
import json

import gradio as gr
import pytest
from gradio import processing_utils
from huggingface_hub import constants, get_session
from PIL import Image

from playground import netguard, public_mode, service
from playground.errors import InputError
from playground.reliability import NO_RETRY
from playground.service import RunRequest, Target
from tests.fakes.loopback import Loopback, pair_on_one_port
from tests.test_public_mode import public  # noqa: F401 - the fixture turning public mode on

ALLOW_HINT = netguard.ALLOW_ENV


def classify(endpoint_url: str) -> service.RunResult:
    """A text-classification run to a custom endpoint, as a visitor would ask it (no retry, short connect)."""
    return service.run(RunRequest("text-classification", "any/model", {"text": "I like you"},
                                  target=Target("custom", endpoint_url=endpoint_url, connect_timeout=1.0,
                                                retry=NO_RETRY)))


def assert_refused(result: service.RunResult, *words: str) -> None:
    assert result.error is not None, "the run was not refused"
    err = result.error
    assert err.kind == "input" and err.title.startswith("Refused in public mode"), err.display()
    for word in words:
        assert word in err.title, err.title
    assert ALLOW_HINT in err.fix and "public URL" in err.fix
    assert all(e.status is None for e in result.exchanges[-1:]), "the refused request was answered"


# ------------------------------------------------------------------------------------------ address classes


CLASSES = [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("[::1]", "loopback"),
    ("0.0.0.0", "unspecified"), ("[::]", "unspecified"),
    ("10.1.2.3", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("[fd12:3456::1]", "private"),
    ("169.254.1.1", "link-local"), ("[fe80::1]", "link-local"),
    ("169.254.169.254", "cloud metadata"), ("[fd00:ec2::254]", "cloud metadata"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"), ("[ff02::1]", "multicast"),
    ("240.0.0.1", "reserved"), ("198.18.0.1", "reserved"),
    ("[::ffff:127.0.0.1]", "loopback address in its IPv4-mapped IPv6 form"),
    ("[::ffff:169.254.169.254]", "cloud metadata address in its IPv4-mapped IPv6 form"),
    ("[::ffff:10.0.0.1]", "private address in its IPv4-mapped IPv6 form"),
    ("[64:ff9b::a00:1]", "private address in its NAT64 IPv6 form"),
    ("[2002:c0a8:101::1]", "private address in its 6to4 IPv6 form"),
]


@pytest.mark.parametrize("host, rule", CLASSES)
def test_every_non_public_address_class_is_refused_with_the_rule_and_the_fix(public, host, rule):
    public()
    assert_refused(classify(f"http://{host}:8080/models/x"), rule)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert netguard.address_class(address) is None


def test_the_metadata_service_is_refused_by_name_before_any_dns(public, monkeypatch):
    public()
    monkeypatch.setattr(netguard, "resolve", lambda host, port: pytest.fail(f"{host} was resolved"))
    assert_refused(classify("http://metadata.google.internal/computeMetadata/v1/instance"), "cloud metadata")


# ------------------------------------------------------------------------------------------ after DNS


def test_a_name_resolving_to_loopback_is_refused(public):
    public()
    with Loopback() as secret:
        result = classify(f"http://localhost:{secret.port}/models/x")  # the real resolver: 127.0.0.1 or ::1
    assert_refused(result, "localhost resolves to", "loopback")
    assert not secret.received


def test_a_name_resolving_to_a_private_address_is_refused(public, monkeypatch):
    public()
    answers = {"intranet.example": ["10.20.30.40"], "mixed.example": ["93.184.215.14", "192.168.0.7"]}
    monkeypatch.setattr(netguard, "resolve", lambda host, port: answers[host])
    assert_refused(classify("http://intranet.example/models/x"), "intranet.example resolves to 10.20.30.40", "private")
    assert_refused(classify("https://mixed.example/models/x"), "192.168.0.7", "private")  # one bad answer is enough


def test_the_connection_goes_to_the_address_checked_not_to_a_second_dns_answer(public, monkeypatch):
    """DNS rebinding: the name answers an allowed address at check time and the secret one right after."""
    public(allow="127.0.0.2")
    allowed, secret = pair_on_one_port("127.0.0.2", "127.0.0.1")
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return ["127.0.0.2"] if len(calls) == 1 else ["127.0.0.1"]

    monkeypatch.setattr(netguard, "resolve", rebinding)
    try:
        result = classify(f"http://rebind.example:{allowed.port}/models/x")
    finally:
        allowed.close()
        secret.close()
    assert result.ok, result.error
    assert calls == ["rebind.example"] and len(allowed.received) == 1 and not secret.received


# ------------------------------------------------------------------------------------------ redirects


def test_a_redirect_to_a_private_address_is_refused(public):
    public(allow="127.0.0.2")  # the first hop is allowed, the hop it redirects to is not
    with Loopback("127.0.0.1") as secret, Loopback("127.0.0.2") as first:
        secret.routes["/secret"] = (200, {"content-type": "application/json"}, b'[[{"label": "SECRET", "score": 1}]]')
        first.redirect("/models/x", f"http://127.0.0.1:{secret.port}/secret", status=307)
        result = classify(f"{first.url}/models/x")
    assert_refused(result, "127.0.0.1 is a loopback address")
    assert [e.status for e in result.exchanges] == [307, None]  # the raw exchange shows both hops
    assert len(first.received) == 1 and not secret.received
    assert "SECRET" not in json.dumps(result.raw())


def test_a_redirect_to_another_scheme_is_refused(public):
    public(allow="127.0.0.2")
    with Loopback("127.0.0.2") as first:
        first.redirect("/models/x", "file:///etc/passwd")
        result = classify(f"{first.url}/models/x")
    assert_refused(result, "file:///etc/passwd is not an http or https URL")


def test_the_allow_list_lets_a_named_host_through(public, fake):
    public(allow="127.0.0.1")
    result = classify(f"{fake.url}/models/distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    assert result.ok, result.error


def test_with_public_mode_off_loopback_endpoints_work(fake):
    """`make run` on a laptop: a custom endpoint on localhost is the point, and nothing is checked."""
    result = classify(f"{fake.url}/models/distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    assert result.ok, result.error
    assert not isinstance(get_session()._transport, netguard.GuardedTransport)


# ------------------------------------------------------------------------------------------ the app's own server


def test_only_the_apps_own_call_reaches_its_local_backend(public):
    """The local backend listens on loopback: the app's own local run reaches it, a visitor's URL does not."""
    public()
    with Loopback() as local, Loopback("127.0.0.2") as other:
        local.redirect("/redirects", f"{other.url}/")
        with netguard.own_server(local.url):
            assert get_session().get(f"{local.url}/health").status_code == 200
            with pytest.raises(InputError, match="127.0.0.2 is a loopback address"):
                get_session().get(f"{other.url}/")  # another loopback server, inside the same block
            with pytest.raises(InputError, match="loopback"):
                get_session().get(f"{local.url}/redirects")  # where the own server redirects to
        with pytest.raises(InputError, match="loopback"):
            get_session().get(f"{local.url}/health")  # the same URL, outside the app's own call
        assert_refused(classify(f"{local.url}/models/x"), "loopback")  # a custom endpoint at its address
    assert len(local.received) == 2 and not other.received


def test_the_hub_and_the_router_stay_reachable(public, fake):
    public()  # (the test routes them to the fake server on loopback, as split DNS does on a Space)
    result = service.run(RunRequest("text-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                                    {"text": "I like you"}, target=Target("hf-inference", token="hf_" + "v" * 34)))
    assert result.ok, result.error


# ------------------------------------------------------------------------------------------ Gradio's downloads


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="PNG")
    return buf.getvalue()


def download(tmp_path, *urls: str) -> list:
    """What Gradio does with image or audio URLs given to a component (the URL box, a card example), in one
    event loop as in the app: each one's file path, or the exception it raised."""

    async def each() -> list:
        out = []
        for i, url in enumerate(urls):
            try:
                out.append(await processing_utils.async_ssrf_protected_download(url, str(tmp_path / str(i))))
            except Exception as err:  # noqa: BLE001 - returned to the test
                out.append(err)
        return out

    return asyncio.run(each())


def test_media_urls_follow_the_same_rule_in_gradios_downloads(public, tmp_path):
    public(allow="127.0.0.2")
    png = (200, {"content-type": "image/png"}, _png())
    with Loopback("127.0.0.1") as secret, Loopback("127.0.0.2") as allowed:
        secret.routes["/cat.png"] = allowed.routes["/cat.png"] = png
        allowed.redirect("/moved.png", f"{secret.url}/cat.png")
        direct, redirected, fine = download(tmp_path, f"{secret.url}/cat.png", f"{allowed.url}/moved.png",
                                            f"{allowed.url}/cat.png")
    for refused in (direct, redirected):
        assert isinstance(refused, gr.Error) and "127.0.0.1 is a loopback address" in refused.message, refused
        assert ALLOW_HINT in refused.message
    assert open(fine, "rb").read() == png[2]
    assert not secret.received


def test_a_media_url_larger_than_the_upload_limit_is_refused(public, tmp_path):
    public(allow="127.0.0.2", PLAYGROUND_MAX_FILE_SIZE="1kb")
    with Loopback("127.0.0.2") as server:
        server.routes["/big.wav"] = (200, {"content-type": "audio/wav"}, b"RIFF" + b"\0" * 4000)
        [refused] = download(tmp_path, f"{server.url}/big.wav")
    assert isinstance(refused, gr.Error) and "larger than" in refused.message, refused


def test_turned_off_the_libraries_are_as_they_were(public, monkeypatch):
    public()
    assert isinstance(processing_utils.async_transport, netguard.GradioDownloads)
    assert isinstance(get_session()._transport, netguard.GuardedTransport)
    assert constants.HF_HUB_DISABLE_IMPLICIT_TOKEN
    monkeypatch.delenv("SPACE_ID")
    public_mode.configure()
    assert processing_utils.async_transport is None
    assert not isinstance(get_session()._transport, netguard.GuardedTransport)
    assert not constants.HF_HUB_DISABLE_IMPLICIT_TOKEN
