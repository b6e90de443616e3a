"""Compare's logic (playground/compare.py): panes run at once through the one service path, against the fake
router over real HTTP with the real InferenceClient; a failing pane alone; the diffs; chat rounds; every
provider of a model; blind votes, the leaderboard and the preference pairs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from playground import compare, ledger, owners
from playground.compare import PaneRun, PaneTarget
from playground.tasks import ASSETS, TASKS
from tests.conftest import TOKEN

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
ROBERTA = "cardiffnlp/twitter-roberta-base-sentiment-latest"
QWEN = "Qwen/Qwen2.5-7B-Instruct"  # live on together, fireworks-ai and hf-inference
JSON = {"content-type": "application/json"}
LABELS = [[{"label": "POSITIVE", "score": 0.75}, {"label": "NEGATIVE", "score": 0.25}]]


def target(task_id: str, model: str, provider: str = "hf-inference", **extra) -> PaneTarget:
    """A pane's target with the task's parameters left at the server's defaults."""
    task = TASKS[task_id]
    return PaneTarget(model, provider, params=(*([None] * len(task.params)), json.dumps(extra) if extra else ""))


def run(task_id: str, targets: list[PaneTarget], *inputs, owner=None) -> list[PaneRun]:
    runs = compare.run_all(TASKS[task_id], targets, inputs, TOKEN, None, owner)
    return sorted(runs, key=lambda r: r.index)


# Reading a chat model's providers caches the router's price table for the whole process: forgotten after each
# test (conftest's ``no_price_table_left``), so later tests (History's "unknown" costs) start without one.
pytestmark = pytest.mark.usefixtures("no_price_table_left")


@pytest.fixture
def me():
    return owners.load(None)[1]


def test_panes_run_at_once_each_request_in_flight_together(fake):
    """Two panes whose answers take a second each: both requests are at the fake router at the same time."""
    fake.script(f"/hf-inference/models/{SST2}", [("sleep", {"seconds": "1"}, LABELS), ("sleep", {"seconds": "1"}, LABELS)])
    runs = run("text-classification", [target("text-classification", SST2)] * 2, "I like it")
    assert [r.ok for r in runs] == [True, True], [r.status for r in runs]
    assert all(r.result.latency_s >= 1.0 for r in runs)
    assert fake.peak_in_flight == 2  # both in flight at once: not one after the other


def test_a_failing_pane_shows_its_error_and_leaves_the_others(fake, me):
    runs = run("text-classification", [target("text-classification", SST2),
                                       target("text-classification", "errors/no-such-model"),
                                       target("text-classification", ROBERTA)], "I like it", owner=me)
    assert [r.ok for r in runs] == [True, False, True]
    assert runs[0].rendered == {"POSITIVE": pytest.approx(0.99987, abs=1e-4), "NEGATIVE": pytest.approx(1.3e-4, abs=1e-4)}
    bad = runs[1]
    assert bad.status.startswith("❌") and "not found" in bad.status and bad.rendered is None
    assert json.loads(bad.raw)["error"]["title"] and TOKEN not in bad.raw
    for good in (runs[0], runs[2]):  # status line: latency, model@sha, provider served, cost
        assert good.status.startswith("✅") and "served by hf-inference" in good.status and "cost unknown" in good.status
        assert "@714eb0f" in good.status
    ledger.current().flush()
    page = ledger.current().list_runs(owners.owner_of(me), source="compare")
    assert page.total == 3 and sorted(r.status for r in page.runs) == ["error", "ok", "ok"]
    assert {r.id for r in page.runs} == {r.result.run_id for r in runs}


def test_a_bad_parameter_fails_its_pane_before_any_request(fake):
    task = TASKS["text-classification"]
    bad = PaneTarget(SST2, "hf-inference", params=("0", None, ""))  # top_k below its minimum of 1
    runs = sorted(compare.run_all(task, [target("text-classification", SST2), bad], ("I like it",), TOKEN),
                  key=lambda r: r.index)
    assert runs[0].ok and runs[1].result is None and "top_k" in runs[1].status


def test_the_exchange_table_sets_the_panes_http_exchanges_side_by_side(fake):
    runs = run("text-classification", [target("text-classification", SST2),
                                       target("text-classification", "errors/no-such-model")], "I like it")
    table = compare.exchange_table(runs, ["1", "2"])
    first, second = table.to_dict("records")
    assert first["HTTP status"] == "200" and first["x-inference-provider"] == "hf-inference"
    assert first["Request id"] == "fake-req-1" and first["Call time"].endswith(" ms") and first["Calls"] == "1"
    assert second["HTTP status"] == "no call" and second["Calls"] == "0"


def test_labels_become_one_grouped_bar_chart(fake):
    fake.script(f"/hf-inference/models/{ROBERTA}", [(200, JSON, json.dumps(LABELS).encode())])
    runs = run("text-classification", [target("text-classification", SST2),
                                       target("text-classification", ROBERTA)], "I like it")
    names = compare.names_of([r.target for r in runs], blind=False)
    (frame,) = compare.diff_values(TASKS["text-classification"], runs, names)
    assert list(frame["bar"]) == ["NEGATIVE · 1", "NEGATIVE · 2", "POSITIVE · 1", "POSITIVE · 2"]
    scores = {(row.label, row.pane): row.score for row in frame.itertuples()}
    assert scores[("POSITIVE", names[1])] == 0.75 and scores[("POSITIVE", names[0])] == pytest.approx(0.99987, abs=1e-4)


def test_text_answers_are_diffed_word_by_word_against_pane_one(fake):
    answers = ["The tower is 324 metres tall.", "The tower is 330 metres high."]
    fake.script("/hf-inference/models/facebook/bart-large-cnn", [(200, JSON, json.dumps([{"summary_text": a}]).encode()) for a in answers])
    task = TASKS["summarization"]
    runs = run("summarization", [target("summarization", "facebook/bart-large-cnn")] * 2, "A long text.")
    (diff,) = compare.diff_values(task, runs, ["1", "2"])
    first, second = runs[0].rendered, runs[1].rendered
    assert {first, second} == set(answers)  # which pane got which answer is up to the threads
    assert "".join(t for t, label in diff if label != "removed") == second
    assert "".join(t for t, label in diff if label != "added") == first
    changed = {(t, label) for t, label in diff if label}
    assert changed == ({("324", "removed"), ("330", "added"), ("tall.", "removed"), ("high.", "added")}
                       if first == answers[0] else
                       {("330", "removed"), ("324", "added"), ("high.", "removed"), ("tall.", "added")})
    assert compare.word_diff("same words", "same words") == [("same words", None)]


def test_embeddings_are_compared_by_cosine_similarity(fake):
    other = [[round(0.01 * (383 - i), 4) for i in range(384)]]
    fake.script("/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2", [(200, JSON, json.dumps(other).encode())])
    runs = run("feature-extraction", [target("feature-extraction", "sentence-transformers/all-MiniLM-L6-v2")] * 3,
               "Hello")
    (table,) = compare.diff_values(TASKS["feature-extraction"], runs, ["1", "2", "3"])
    vectors = [np.asarray(r.result.output, dtype="float64").reshape(-1) for r in runs]
    rows = table.set_index("").to_dict("index")
    for i in range(3):
        for j in range(3):
            expected = vectors[i] @ vectors[j] / (np.linalg.norm(vectors[i]) * np.linalg.norm(vectors[j]))
            assert float(rows[str(i + 1)][str(j + 1)]) == pytest.approx(expected, abs=1e-4)
    assert {rows["1"]["1"], rows["2"]["2"]} == {"1.0000"}
    assert min(float(rows[a][b]) for a in "123" for b in "123") < 0.9  # the scripted vector differs


def test_images_and_overlays_are_set_in_one_grid(fake):
    task = TASKS["object-detection"]
    image = str(ASSETS / "street.png")
    runs = run("object-detection", [target("object-detection", "facebook/detr-resnet-50")] * 2, image)
    (grid,) = compare.diff_values(task, runs, ["1", "2"])
    assert [caption for _, caption in grid] == ["1", "2"]
    assert all(picture.size == runs[0].rendered.size for picture, _ in grid)  # the drawn boxes, at one size
    seg = TASKS["image-segmentation"]
    runs = run("image-segmentation", [target("image-segmentation", seg.default_model)] * 2, image)
    (grid,) = compare.diff_values(seg, runs, ["1", "2"])
    assert len(grid) == 2 and all(hasattr(picture, "size") for picture, _ in grid)


def test_audio_answers_get_one_player_each(fake):
    task = TASKS["text-to-speech"]
    runs = run("text-to-speech", [target("text-to-speech", "facebook/mms-tts-eng")] * 2, "Hello there")
    players = compare.diff_values(task, runs, ["1", "2"])
    assert len(players) == compare.diff_slots(task, 2) == 2
    assert all(Path(p).is_file() for p in players)


def test_every_task_gives_as_many_diff_values_as_the_page_builds(fake):
    for task in TASKS.values():
        for n in (2, 4):
            empty = [PaneRun(i, target(task.id, task.default_model), None, None, "", "") for i in range(n)]
            assert len(compare.diff_values(task, empty, [str(i + 1) for i in range(n)])) == compare.diff_slots(task, n)


def test_chat_panes_stream_together_and_keep_their_own_histories(fake, me):
    task = TASKS["chat-completion"]
    fake.chaos(latency_s=0.3)
    targets = [target("chat-completion", QWEN, p) for p in ("together", "fireworks-ai", "hf-inference")]
    states = list(compare.chat_round(task, targets, [[], [], []], "What is the capital of France?",
                                     ("Be brief.", "", ""), TOKEN, None, me))
    final = states[-1]
    assert fake.peak_in_flight == 3  # the three streams were open at once
    assert [s.ok for s in final] == [True] * 3
    for s in final:
        assert s.rendered[-1] == {"role": "assistant", "content": "Paris is the capital of France."}
        assert s.ttft_s is not None and s.status.startswith("✅") and "cost" in s.status
        assert f"served by {s.target.provider}" in s.status
    fake.chaos()
    fake.reset()
    histories = [s.rendered for s in final]
    histories[1] = histories[1][:1]  # pane 2's history differs: the question only
    second = list(compare.chat_round(task, targets, histories, "And of Italy?", ("", "", ""), TOKEN, None, me))[-1]
    assert all(s.ok for s in second)
    sent = [json.loads(r.body) for r in fake.received if r.path.endswith("/chat/completions")]
    by_provider = {r.path.split("/")[1]: json.loads(r.body) for r in fake.received
                   if r.path.endswith("/chat/completions")}
    assert len(sent) == 3
    assert [m["role"] for m in by_provider["together"]["messages"]] == ["user", "assistant", "user"]
    assert [m["role"] for m in by_provider["fireworks-ai"]["messages"]] == ["user", "user"]
    assert len(second[0].rendered) == 4
    ledger.current().flush()
    assert ledger.current().list_runs(owners.owner_of(me), source="compare", task="chat-completion").total == 6


def test_an_empty_chat_message_is_refused_in_every_pane(fake):
    task = TASKS["chat-completion"]
    (states,) = list(compare.chat_round(task, [target("chat-completion", QWEN, "together")] * 2, [[], []], "  "))
    assert all("The message is empty" in s.status for s in states) and not fake.received


def test_all_providers_of_a_chat_model_in_one_table(fake):
    task = TASKS["chat-completion"]
    providers = compare.live_providers(task, QWEN, TOKEN)
    assert sorted(providers) == ["fireworks-ai", "hf-inference", "together"]
    runs = compare.run_providers(task, QWEN, "main", providers, ("Hi", "", "", ""), (None,) * 5 + ("",), TOKEN)
    table = compare.providers_table(task, runs).to_dict("records")
    assert [row["Provider"] for row in table] == providers
    assert all(row["Status"] == "✅" and row["First token"].endswith(" ms") for row in table)
    assert all(float(row["Tokens/s"]) > 0 for row in table)  # 7 completion tokens after the first one
    assert table[0]["Difference from first"] == "(reference)"
    assert {row["Difference from first"] for row in table[1:]} == {"identical"}
    assert all(row["Output"] == "Paris is the capital of France." for row in table)


def test_all_providers_of_a_labelling_model_says_how_scores_differ(fake):
    task = TASKS["text-classification"]
    fake.script(f"/hf-inference/models/{SST2}", [(200, JSON, json.dumps(LABELS).encode())])
    runs = compare.run_providers(task, SST2, "main", ["hf-inference", "hf-inference"], ("I like it",),
                                 (None, None, ""), TOKEN)
    table = compare.providers_table(task, runs)
    assert list(table["Difference from first"])[1] == "same top label, largest score change 0.2499"


def _blind_run(me, choice_rng=None):
    """A blind comparison of two panes through the page's Run handler, as Gradio calls it."""
    task = TASKS["text-classification"]
    handler = compare.run_handler(task, 2)
    fake_panes = [SST2, "hf-inference", "", "main", "", "", "", ROBERTA, "hf-inference", "", "main", "", "", ""]
    outputs = list(handler(TOKEN, me, "", None, None, None, True, "I like it", *fake_panes, None))
    return outputs[-1]


def test_a_blind_vote_is_recorded_revealed_and_counted(fake, me, monkeypatch):
    monkeypatch.setattr(compare, "blind_order", lambda n, rng=None: [1, 0])  # A shows pane 2's target
    fake.script(f"/hf-inference/models/{ROBERTA}", [(200, JSON, json.dumps(LABELS).encode())])
    last = _blind_run(me)
    titles, statuses, raws = last[0:8:4], last[2:8:4], last[3:8:4]
    assert titles == ["### A", "### B"]
    assert all(s.startswith(compare.HIDDEN_STATUS) for s in statuses) and raws == ["", ""]
    assert last[1] == {"POSITIVE": 0.75, "NEGATIVE": 0.25}  # A: roberta's (scripted) answer
    comparison = last[-5]
    assert [p["letter"] for p in comparison["panes"]] == ["A", "B"]
    assert [p["model"] for p in comparison["panes"]] == [ROBERTA, SST2]
    table = last[8]
    assert "x-inference-provider" not in table.columns and list(table["Pane"]) == ["A", "B"]
    ledger.current().flush()

    reveal, row, *revealed, kept, board = compare.vote_handler(2, "A")(me, comparison)
    assert f"**A** = `{ROBERTA} · hf-inference` 🏆" in reveal and f"**B** = `{SST2} · hf-inference`" in reveal
    assert revealed[0] == f"### A = {ROBERTA} · hf-inference" and revealed[1].startswith("✅")
    assert json.loads(revealed[2])["exchanges"]
    with pytest.raises(Exception, match="has its vote already"):
        compare.vote_handler(2, "B")(me, kept)
    rows = board.set_index("Target").to_dict("index")
    assert rows[f"{ROBERTA} · hf-inference"]["Elo"] == 1016 and rows[f"{SST2} · hf-inference"]["Elo"] == 984
    assert rows[f"{ROBERTA} · hf-inference"]["Win rate"] == "100%"

    compare.vote_handler(2, "tie")(me, _blind_run(me)[-5])
    board = compare.leaderboard(me, "text-classification").set_index("Target").to_dict("index")
    assert board[f"{ROBERTA} · hf-inference"]["Votes"] == 2 and board[f"{ROBERTA} · hf-inference"]["Win rate"] == "50%"
    assert board[f"{SST2} · hf-inference"]["Ties / all bad"] == 1
    other = owners.load(None)[1]
    assert compare.leaderboard(other, "text-classification").empty  # votes are their owner's

    pairs, missing = compare.export_pairs(me, "text-classification")
    assert missing == 0 and len(pairs) == 1  # the tie gives no pair
    (pair,) = pairs
    assert pair["prompt"] == "I like it" and pair["chosen_model"] == f"{ROBERTA} · hf-inference"
    assert pair["chosen"][0]["label"] == "POSITIVE" and pair["chosen"][0]["score"] == 0.75
    assert pair["rejected"][0]["score"] == pytest.approx(0.99987, abs=1e-4)
    path = Path(compare.export_handler(me, "text-classification"))
    assert [json.loads(line)["chosen_model"] for line in path.read_text().splitlines()] == [pair["chosen_model"]]
    assert TOKEN not in path.read_text()


def test_a_vote_without_a_blind_comparison_is_refused(me):
    with pytest.raises(Exception, match="Run a blind comparison first"):
        compare.record_vote(me, "text-classification", "A", None)


def test_blind_order_is_a_shuffle():
    orders = {tuple(compare.blind_order(3, random.Random(seed))) for seed in range(30)}
    assert all(sorted(o) == [0, 1, 2] for o in orders) and len(orders) > 1


def test_a_link_opens_the_task_with_pane_one_filled():
    link = compare.link_for("summarization", "facebook/bart-large-cnn", "hf-inference", text="A long text.")
    assert link == "compare?task=summarization&model=facebook%2Fbart-large-cnn&provider=hf-inference&text=A+long+text."
    from urllib.parse import parse_qsl, urlparse

    query = dict(parse_qsl(urlparse(link).query))
    assert compare.linked_first_pane(query) == {"task": "summarization", "model": "facebook/bart-large-cnn",
                                                "provider": "hf-inference", "inputs": {"text": "A long text."}}
    assert compare.linked_first_pane({"task": "object_detection", "image": "/etc/passwd"}) == {
        "task": "object-detection", "inputs": {}}  # only text inputs come by link
    assert compare.linked_first_pane({"task": "nope"}) == {}


def test_fifty_comparisons_at_once_with_distinct_tokens_lose_and_leak_nothing(fake):
    """50 people compare two panes at the same moment, each with their own token: every pane answers, is
    recorded under its person, and shows only its person's exchange (the router signs each answer with a hash
    of the token it came with); no token appears anywhere."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from tests.fakes.server import caller_mark

    fake.sign_callers()
    tokens = ["hf_" + f"ComparePerson{i:02d}" + "x" * 20 for i in range(50)]
    people = [owners.load(None)[1] for _ in tokens]
    task, start = TASKS["text-classification"], Barrier(50)

    def person(i: int) -> list[PaneRun]:
        start.wait()
        runs = compare.run_all(task, [target("text-classification", SST2), target("text-classification", ROBERTA)],
                               (f"person {i:02d} likes it",), tokens[i], None, people[i])
        return sorted(runs, key=lambda r: r.index)

    with ThreadPoolExecutor(50) as pool:
        everyone = list(pool.map(person, range(50)))
    for i, runs in enumerate(everyone):
        assert [r.ok for r in runs] == [True, True], [r.status for r in runs]
        for r in runs:
            shown = r.status + r.raw
            assert not any(t in shown for t in tokens)
            (call,) = json.loads(r.raw)["exchanges"]
            assert call["response"]["headers"]["x-fake-caller"] == caller_mark(tokens[i])
            assert f"person {i:02d}" in json.dumps(call["request"]["body"])
    ledger.current().flush()
    for i, me in enumerate(people):
        page = ledger.current().list_runs(owners.owner_of(me), source="compare")
        assert page.total == 2 and {r.id for r in page.runs} == {r.result.run_id for r in everyone[i]}


# ------------------------------------------------------------------------------------------ the spend guard

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the fake router prices it on together ($0.06)
UNPRICED = "openai/gpt-oss-20b"  # served by together, not in the router's price table: its cost is unknown


def pane_values(task, *targets: tuple[str, str]) -> list:
    """The panes' components' values (model, provider, endpoint, revision, parameters, extra JSON), pane by pane."""
    return [v for model, provider in targets for v in (model, provider, "", "main", *([None] * len(task.params)), "")]


def chat_send(handler, me, budget, guard, kept, message, task, panes, histories, chat=None):
    """The page's Send (or Run anyway) as Gradio calls it; ``chat``: the chat comparison the session keeps."""
    return list(handler(TOKEN, me, "", budget, guard, kept, chat, message, *([""] * (len(task.inputs) - 1)),
                        *pane_values(task, *panes), *histories, None))


def test_a_chat_pane_past_the_budget_is_held_back_alone_and_run_anyway_sends_it(fake, me):
    """Pane 1's estimate (together's prices) would pass the session budget: it shows the guard's question, sends
    nothing and is not recorded; pane 2 (a model with no price known: $0 against the budget) runs. "Run anyway" sends pane 1
    alone, approved, and leaves pane 2 as it was."""
    from playground import hub, spend_guard

    task = TASKS["chat-completion"]
    hub.model_providers(SMOL, task.id, token=TOKEN)  # the price table, as the page's pickers read it
    budget, guard = spend_guard.Budget(session_usd=0.000001), spend_guard.new_session()
    panes = [(SMOL, "together"), (UNPRICED, "together")]
    first = chat_send(compare.chat_handler(task, 2), me, budget, guard, None, "What is the capital of France?", task,
                      panes, [[], []])
    final = first[-1]
    (chat1, status1, _raw1), (chat2, status2, _raw2) = final[0:3], final[3:6]
    box, table, _diff, kept, anyway, chat = final[6:]
    assert spend_guard.asks(status1) and "would pass your session budget" in status1 and "Run anyway" in status1
    assert chat1 == []  # the pane's conversation as it was: the question was not sent
    assert status2.startswith("✅"), status2
    assert chat2[-1]["role"] == "assistant" and chat2[-1]["content"]
    assert kept["held"] == [0] and kept["message"] == "What is the capital of France?"
    assert anyway.constructor_args["visible"] is True and box == ""  # pane 2 answered: the box is emptied
    assert list(table["HTTP status"]) == ["no call", "200"]
    routed = [r.path for r in fake.received if r.path.endswith("/chat/completions")]
    assert len(routed) == 1 and json.loads(fake.received[-1].body)["model"] != SMOL
    ledger.current().flush()
    assert ledger.current().list_runs(owners.owner_of(me), source="compare").total == 1  # the held pane: no record

    again = chat_send(compare.chat_handler(task, 2, anyway=True), me, budget, guard, kept, "", task, panes,
                      [chat1, chat2], chat)[-1]
    assert again[1].startswith("✅") and "served by together" in again[1]
    assert again[0][-1]["role"] == "assistant" and again[0][-1]["content"]
    assert again[3:6] == [{"__type__": "update"}] * 3  # pane 2 untouched
    assert again[-3] is None and again[-2].constructor_args["visible"] is False and again[-1] == chat
    assert list(again[7]["HTTP status"]) == ["200", "200"]  # the table: pane 1 now, pane 2's last turn
    routed = [r.path for r in fake.received if r.path.endswith("/chat/completions")]
    assert len(routed) == 2
    ledger.current().flush()
    kept_runs = ledger.current().list_runs(owners.owner_of(me), source="compare").runs
    assert len(kept_runs) == 2 and {r.comparison_id for r in kept_runs} == {chat["id"]}  # one comparison, two panes
    assert sorted(r.comparison_pane for r in kept_runs) == [0, 1]
    assert TOKEN not in json.dumps([v for v in again if isinstance(v, str)])


def test_panes_wait_once_the_daily_budget_is_used_up_then_run_anyway_runs_them(fake, me):
    """Text classification's cost is unknown before it runs: its panes ask only once the budget is used up (here by
    a chat run of the day); "Run anyway" sends them, and the page's diff and table are the new runs'."""
    from playground import hub, service, spend_guard

    hub.model_providers(SMOL, "chat-completion", token=TOKEN)
    spent = service.run(service.RunRequest("chat-completion", SMOL, {"messages": [{"role": "user", "content": "Hi"}]},
                                           target=service.Target("together", token=TOKEN),
                                           **owners.run_fields(me, "tab", TOKEN)))
    assert spent.ok
    ledger.current().flush()
    task = TASKS["text-classification"]
    budget, guard = spend_guard.Budget(day_usd=0.0000001), spend_guard.new_session()
    values = pane_values(task, (SST2, "hf-inference"), (ROBERTA, "hf-inference"))
    held = list(compare.run_handler(task, 2)(TOKEN, me, "", budget, guard, None, False, "I like it", *values,
                                             None))[-1]
    assert all(spend_guard.asks(s) and "reaches your daily budget" in s for s in held[2:8:4])
    kept, anyway = held[-2:]
    assert kept["held"] == [0, 1] and anyway.constructor_args["visible"] is True
    assert not [r for r in fake.received if "/hf-inference/models/" in r.path]
    ran = list(compare.run_handler(task, 2, anyway=True)(TOKEN, me, "", budget, guard, kept, False, "I like it",
                                                         *values, None))[-1]
    assert all(s.startswith("✅") for s in ran[2:8:4])
    assert list(ran[8]["HTTP status"]) == ["200", "200"] and ran[-2] is None
    assert len([r for r in fake.received if "/hf-inference/models/" in r.path]) == 2
    with pytest.raises(Exception, match="No pane is waiting"):
        list(compare.run_handler(task, 2, anyway=True)(TOKEN, me, "", budget, guard, None, False, "I like it",
                                                       *values, None))


# ------------------------------------------------------------------------------------------ a comparison kept


def test_a_comparison_is_its_runs_reopened_from_the_ledger_for_its_owner_only(fake, me):
    """The panes' runs carry one comparison id and their pane; the comparison reopens from them, as recorded (no
    request sent again), for its owner; another browser is told it is not in its history."""
    runs = run("text-classification", [target("text-classification", SST2),
                                       target("text-classification", "errors/no-such-model")], "I like it", owner=me)
    store = ledger.current()
    store.flush()
    ids = [r.result.run_id for r in runs]
    kept = [store.get_run(owners.owner_of(me), i) for i in ids]
    assert kept[0].comparison_id and kept[0].comparison_id == kept[1].comparison_id
    assert [k.comparison_pane for k in kept] == [0, 1]
    sent = len(fake.received)
    link = compare.reopened(me, kept[0].comparison_id)
    assert len(fake.received) == sent  # read back, never run again
    assert link["task"] == "text-classification" and link["n"] == 2 and link["values"][0] == "I like it"
    assert [p["values"][0] for p in link["panes"]] == [SST2, "errors/no-such-model"]
    assert [p["values"][1] for p in link["panes"]] == ["hf-inference", "hf-inference"]
    assert link["panes"][0]["output"] == runs[0].rendered and "Reopened" in link["panes"][0]["status"]
    assert "not found" in link["panes"][1]["status"] and json.loads(link["panes"][0]["raw"])["exchanges"]
    assert not link["readonly"]
    with pytest.raises(compare.PlaygroundError, match="Not in this browser's history"):
        compare.reopened(owners.load(None)[1], kept[0].comparison_id)
    assert store.comparison_sizes(owners.owner_of(me), [kept[0].comparison_id]) == {kept[0].comparison_id: 2}


def test_a_published_comparison_opens_read_only_for_anyone_without_a_token(fake, me):
    runs = run("text-classification", [target("text-classification", SST2),
                                       target("text-classification", ROBERTA)], "I like it", owner=me)
    store = ledger.current()
    store.flush()
    comparison_id = store.get_run(owners.owner_of(me), runs[0].result.run_id).comparison_id
    assert store.publish_comparison(owners.owner_of(owners.load(None)[1]), comparison_id) is None  # not theirs
    snapshot_id = store.publish_comparison(owners.owner_of(me), comparison_id)
    link = compare.reopened(None, snapshot_id=snapshot_id)  # anyone: no owner at all
    assert link["readonly"] and "Read-only snapshot" in link["note"]
    assert [p["values"][0] for p in link["panes"]] == [SST2, ROBERTA]
    assert TOKEN not in json.dumps(link, default=str) and TOKEN not in compare.snapshot_query(snapshot_id)
    store.unpublish(owners.owner_of(me), runs[1].result.run_id)  # a pane withdrawn is left out
    assert [p["values"][0] for p in compare.reopened(None, snapshot_id=snapshot_id)["panes"]] == [SST2]
    with pytest.raises(compare.PlaygroundError, match="Not published"):
        compare.reopened(None, snapshot_id="nope")


def test_a_chat_comparison_is_one_comparison_from_its_first_turn_until_cleared_or_retargeted(fake, me):
    """Every turn of a chat comparison carries the same comparison id and its pane; it reopens as a whole (each
    pane's conversation, all turns in order, its target and status) ready to go on as the same comparison; its
    snapshot shows the same read-only. Clearing the chat, or changing a target, starts another comparison."""
    task = TASKS["chat-completion"]
    panes = [(QWEN, "together"), (QWEN, "fireworks-ai")]
    first = chat_send(compare.chat_handler(task, 2), me, None, None, None, "What is the capital of France?", task,
                      panes, [[], []])[-1]
    chat = first[-1]
    second = chat_send(compare.chat_handler(task, 2), me, None, None, None, "And of Italy?", task, panes,
                       [first[0], first[3]], chat)[-1]
    assert second[-1] == chat  # the same comparison
    store = ledger.current()
    store.flush()
    owner = owners.owner_of(me)
    runs = store.comparison(owner, chat["id"])
    assert [(r.comparison_pane, r.inputs["messages"][-1]["content"]) for r in runs] == [
        (0, "What is the capital of France?"), (0, "And of Italy?"),
        (1, "What is the capital of France?"), (1, "And of Italy?")]
    sent = len(fake.received)

    link = compare.reopened(me, chat["id"])
    assert len(fake.received) == sent  # read back, never run again
    assert link["task"] == "chat-completion" and link["n"] == 2 and not link["readonly"]
    for pane, live, provider in zip(link["panes"], (second[0], second[3]), ("together", "fireworks-ai")):
        assert pane["values"][:2] == [QWEN, provider]
        assert [(m["role"], m["content"]) for m in pane["output"]] == [(m["role"], m["content"]) for m in live]
        assert [m["content"] for m in pane["output"] if m["role"] == "user"] == [
            "What is the capital of France?", "And of Italy?"]
        assert "Reopened" in pane["status"] and f"served by {provider}" in pane["status"]
        assert "send a message to go on" in pane["status"] and "Retry" not in pane["status"]
    assert link["chat"] == chat  # the session goes on with the same comparison
    assert list(link["exchange"]["HTTP status"]) == ["200", "200"]

    third = chat_send(compare.chat_handler(task, 2), me, None, None, None, "And of Spain?", task,
                      [tuple(p["values"][:2]) for p in link["panes"]], [p["output"] for p in link["panes"]],
                      link["chat"])[-1]
    assert third[-1] == chat
    bodies = [json.loads(r.body) for r in fake.received[sent:] if r.path.endswith("/chat/completions")]
    assert [len(b["messages"]) for b in bodies] == [5, 5]  # each pane's whole conversation, then the new turn
    store.flush()
    again = compare.reopened(me, chat["id"])
    assert [len(p["output"]) for p in again["panes"]] == [6, 6]
    assert store.comparison_sizes(owner, [chat["id"]]) == {chat["id"]: 6}

    snapshot = compare.reopened(None, snapshot_id=store.publish_comparison(owner, chat["id"]))
    assert snapshot["readonly"] and snapshot["chat"] is None and "Read-only snapshot" in snapshot["note"]
    assert [p["output"] for p in snapshot["panes"]] == [p["output"] for p in again["panes"]]
    assert all("read-only" in p["status"] and "send a message" not in p["status"] for p in snapshot["panes"])
    assert TOKEN not in json.dumps(snapshot, default=str)

    cleared = chat_send(compare.chat_handler(task, 2), me, None, None, None, "Hello", task, panes, [[], []],
                        None)[-1]  # the page's Clear forgets the comparison
    retargeted = chat_send(compare.chat_handler(task, 2), me, None, None, None, "Hello", task,
                           [(QWEN, "together"), (QWEN, "hf-inference")], [[], []], cleared[-1])[-1]
    assert len({chat["id"], cleared[-1]["id"], retargeted[-1]["id"]}) == 3


def test_a_reopened_comparisons_exchange_table_is_derived_from_its_recorded_exchanges(fake, me):
    """The table of the panes' HTTP exchanges, reopened, says what the live one said: status, provider header,
    request id, calls, host (``exchange_table`` on the recorded exchanges)."""
    runs = run("text-classification", [target("text-classification", SST2),
                                       target("text-classification", "errors/no-such-model")], "I like it", owner=me)
    names = compare.names_of([r.target for r in runs], False)
    live = compare.exchange_table(runs, names)
    store = ledger.current()
    store.flush()
    comparison_id = store.get_run(owners.owner_of(me), runs[0].result.run_id).comparison_id
    table = compare.reopened(me, comparison_id)["exchange"]
    same = ["Pane", "HTTP status", "x-inference-provider", "Request id", "Run time", "Calls", "Host"]
    assert table[same].to_dict("records") == live[same].to_dict("records")
    assert list(table["HTTP status"]) == ["200", "no call"] and table["Request id"][0] != "–"
    assert table["Call time"][0].endswith(" ms")  # (recorded to 0.1 ms)


def test_all_providers_of_a_model_reopen_as_their_table_past_four(fake, me):
    """"All providers of this model" with 6 providers: recorded as one comparison of that kind, it reopens as the
    live run showed it, one table row per provider (all 6), and pane 1's target."""
    task = TASKS["chat-completion"]
    providers = ["together", "fireworks-ai", "hf-inference"] * 2
    runs = compare.run_providers(task, QWEN, "main", providers, ("Hi", "", "", ""), (None,) * 5 + ("",), TOKEN,
                                 owner=me)
    live = compare.providers_table(task, runs)
    store = ledger.current()
    store.flush()
    kept = [store.get_run(owners.owner_of(me), r.result.run_id) for r in runs]
    assert len({k.comparison_id for k in kept}) == 1 and kept[0].comparison_id
    assert [k.comparison_pane for k in kept] == list(range(6)) and {k.comparison_kind for k in kept} == {"providers"}
    link = compare.reopened(me, kept[0].comparison_id)
    table = link["providers"]
    same = ["Provider", "Status", "Latency", "Output", "Difference from first"]
    assert len(table) == 6 and table[same].to_dict("records") == live[same].to_dict("records")
    assert link["n"] == 2 and [p["values"][:2] for p in link["panes"]] == [[QWEN, "together"]]
    assert link["exchange"] is None and link["chat"] is None and "all providers of" in link["note"]
