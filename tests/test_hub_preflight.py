"""Token preflight against the fake Hub: before any run, say whether the token may call Inference Providers,
whether a gated model lets it in (``HfApi.auth_check``), and which organisations it may bill."""

from __future__ import annotations

import pytest

from playground import hub, pickers
from tests.conftest import TOKEN

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # gated (manual approval) on the fake Hub
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
NO_GATE = "hf_nogate" + "g" * 28  # fine-grained, cannot read gated repos: the Hub's auth check refuses it
NO_INFER = "hf_noinfer" + "a" * 27
NO_ORG = "hf_noorg" + "o" * 29  # fine-grained, no permission on any organisation
READ = "hf_read" + "r" * 30  # a classic read token


@pytest.fixture(autouse=True)
def fresh_cache():
    hub.clear_cache()
    yield
    hub.clear_cache()


def auth_checks(fake) -> list:
    return [r for r in fake.received if r.path.endswith("/auth-check")]


# ------------------------------------------------------------------------------------------ Inference Providers


def test_permission_to_call_inference_providers(fake):
    assert hub.check_token(TOKEN).can_infer is True
    assert hub.check_token(NO_INFER).can_infer is False
    assert hub.check_token(READ).can_infer is True  # classic tokens are not scoped
    line, _ = pickers.token_status(NO_INFER)
    assert "may **not** call Inference Providers" in line and "Make calls to Inference Providers" in line
    line, _ = pickers.token_status(TOKEN)
    assert "✅ may call Inference Providers" in line and TOKEN not in line


# ------------------------------------------------------------------------------------------ gated models


def test_gated_model_with_access(fake):
    access = hub.model_access(LLAMA, token=TOKEN)
    assert access.gated == "manual" and access.access is True
    assert "this token has access" in access.markdown()
    [check] = auth_checks(fake)
    assert check.path == f"/api/models/{LLAMA}/auth-check" and check.headers["authorization"] == f"Bearer {TOKEN}"


def test_gated_model_without_access_names_the_fix(fake):
    access = hub.model_access(LLAMA, token=NO_GATE)
    assert access.gated == "manual" and access.access is False
    text = access.markdown()
    assert "this token has no access" in text and f"https://huggingface.co/{LLAMA}" in text and NO_GATE not in text
    line, _ = pickers.token_status(NO_GATE)
    assert "cannot read gated models" in line


def test_gated_model_without_a_token(fake):
    access = hub.model_access(LLAMA, token=None)
    assert access.access is False and not access.token and "paste a token" in access.markdown()
    [check] = auth_checks(fake)
    assert "authorization" not in {k.lower() for k in check.headers}


def test_model_that_is_not_gated_asks_no_access_check(fake):
    access = hub.model_access(SST2, token=TOKEN)
    assert access.gated is False and access.access is True and access.markdown() == ""
    assert auth_checks(fake) == []


def test_access_is_cached_per_token(fake):
    hub.model_access(LLAMA, token=TOKEN)
    hub.model_access(LLAMA, token=TOKEN)
    assert hub.model_access(LLAMA, token=NO_GATE).access is False  # not the other token's answer
    assert len(auth_checks(fake)) == 2


def test_picked_model_summary_says_access_before_any_run(fake):
    summary, *_ = pickers.model_picked("chat-completion", NO_GATE, "auto", LLAMA)
    assert "this token has no access" in summary
    summary, *_ = pickers.model_picked("chat-completion", TOKEN, "auto", LLAMA)
    assert "this token has access" in summary
    assert not [r for r in fake.received if "/chat/completions" in r.path]  # nothing was run


# ------------------------------------------------------------------------------------------ bill-to


def test_bill_to_only_team_or_enterprise_orgs_the_token_may_bill(fake):
    status = hub.check_token(TOKEN)
    assert status.orgs == ("acme-corp", "reading-club") and status.billable == ("acme-corp",)
    assert "Team or Enterprise" in status.why_not_billable("reading-club")
    line, bill_to = pickers.token_status(TOKEN)
    assert "✅ acme-corp" in line and "✗ reading-club (not on a Team or Enterprise plan)" in line
    assert bill_to["choices"] == [pickers.OWN_ACCOUNT, ("acme-corp (Enterprise)", "acme-corp")]


def test_fine_grained_token_without_org_permission_cannot_bill(fake):
    status = hub.check_token(NO_ORG)
    assert status.can_infer and status.billable == ()
    assert "permission on it" in status.why_not_billable("acme-corp")
    _, bill_to = pickers.token_status(NO_ORG)
    assert bill_to["choices"] == [pickers.OWN_ACCOUNT]


def test_classic_token_bills_its_enterprise_orgs(fake):
    assert hub.check_token(READ).billable == ("acme-corp",)
