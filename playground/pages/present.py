"""The Present page (its own route, ``/present``): a deck editor (decks built from the owner's History runs,
reordered, annotated, shared, exported) and a stage that plays a deck one step at a time, large, for a projector.

    editor   token (kept in the session, ``ui._build_token``), deck picker, recent runs to add, a step typed in
             now (text tasks: task, model, provider, its text inputs, notes; no recording until run live), the steps
    stage    step counter, inputs, the result (the step task's renderer component), caption, controls
             keys: Enter runs the step live, ← → step, R shows the recording, N the speaker notes, Esc leaves
    blind    a blind step's panes, A, B… shuffled, drawn from its ballot (``gr.render``), names hidden until the vote;
             the vote keys (``decks.VOTE_KEYS``: A B C D one is better, T a tie, X all bad), then the reveal

``build`` only builds and wires; the handlers are ``playground.decks``' (plain values in, plain values out).
``?deck=<share id>`` opens a shared deck read-only, on the stage, from its recordings. A live step carries the
spend guard's budgets (this browser's, ``ui.session_guard``: session states, never an API argument): a step held
back shows its recording, labelled so.
"""

from __future__ import annotations

import gradio as gr

from typing import Any

from .. import compare, decks, owners, pickers
from ..renderers import RENDERERS
from ..tasks import TASKS
from .compare import filled

__all__ = ["build", "KEYS_JS", "CSS"]

PRIVATE = dict(api_visibility="private")

CSS = """
.present-stage {--body-text-color: #000; --block-label-text-color: #222; font-size: 1.3rem}
.dark .present-stage {--body-text-color: #fff; --block-label-text-color: #ddd}
.present-stage .present-counter h3 {font-size: 1.7rem; margin: 0}
.present-stage .present-label {font-size: 1rem; text-transform: uppercase; letter-spacing: .06em; font-weight: 700}
.present-stage .present-text {font-size: 2.1rem; line-height: 1.3; font-weight: 600; margin: .1em 0 .6em}
.present-stage .present-caption {font-size: 1.3rem; border-top: 3px solid #ff9d00; padding-top: .4em}
.present-stage .present-caption p {font-size: 1.3rem}
.present-stage .present-notes {display: none; font-size: 1.1rem; opacity: .85}
.present-stage.show-notes .present-notes {display: block}
.present-stage .present-result .output-class {font-size: 2.4rem !important}
.present-stage .present-result .confidence-set {font-size: 1.4rem}
.present-stage .present-result textarea {font-size: 1.8rem !important; line-height: 1.35}
.present-stage .present-result .message {font-size: 1.5rem}
.present-stage .present-result .textspan {font-size: 1.8rem}
.present-stage .present-controls button {font-size: 1.1rem}
.present-stage .present-result img {width: 100%; height: 56vh; object-fit: contain}
.present-stage .present-blind-pane h2 {font-size: 2.2rem; margin: 0 0 .2em}
.present-stage .present-blind-name {font-size: 1.2rem; font-family: var(--font-mono); font-weight: 600}
.present-stage .present-blind-pane .output-class {font-size: 2.2rem !important}
.present-stage .present-blind-pane .confidence-set {font-size: 1.3rem}
.present-stage .present-blind-pane textarea {font-size: 1.6rem !important; line-height: 1.35}
.present-stage .present-blind-pane img {width: 100%; height: 40vh; object-fit: contain}
.present-stage .present-vote button {font-size: 1.4rem; font-weight: 700; min-height: 3rem}
.present-stage .present-vote-help p {font-size: 1.2rem}
.present-stage .present-reveal p, .present-stage .present-reveal li {font-size: 1.5rem}
.present-stage .present-reveal code {font-size: 1.1rem}
"""

# Installed once per page: the keys drive the stage's buttons while it is shown (never while typing in a box).
KEYS_JS = """
() => {
  if (!document.getElementById('present-css')) {
    const style = document.createElement('style'); style.id = 'present-css'; style.textContent = %s;
    document.head.appendChild(style);
  }
  if (window.__presentKeys) return; window.__presentKeys = true;
  const keys = {Enter: 'present-run', ArrowRight: 'present-next', ArrowLeft: 'present-prev', Escape: 'present-exit',
                r: 'present-recorded', R: 'present-recorded'};
  for (const [choice, key] of Object.entries(%s)) {  // a blind step's votes
    keys[key] = keys[key.toUpperCase()] = 'present-vote-' + choice.toLowerCase();
  }
  document.addEventListener('keydown', (e) => {
    const stage = document.querySelector('.present-stage');
    if (!stage || stage.offsetParent === null || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    if (e.key === 'n' || e.key === 'N') { stage.classList.toggle('show-notes'); return; }
    const id = keys[e.key];
    if (!id) return;
    const button = document.getElementById(id);
    e.preventDefault();
    if (button && button.offsetParent !== null && !button.disabled) button.click();
  });
}
"""


def _stage() -> tuple[gr.Column, list[gr.components.Component], dict[str, gr.Button]]:
    """The stage: its view components (``decks.view``'s order) and its buttons."""
    with gr.Column(visible=False, elem_classes=["present-stage"]) as stage:
        counter = gr.Markdown(elem_classes=["present-counter"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, elem_classes=["present-inputs"]):
                texts = gr.Markdown(elem_classes=["present-texts"])
                image = gr.Image(label="Input image", interactive=False, visible=False, height=440, type="filepath")
                audio = gr.Audio(label="Input audio", interactive=False, visible=False, type="filepath")
                table = gr.Dataframe(label="Input table", interactive=False, visible=False, wrap=True)
            with gr.Column(scale=3, elem_classes=["present-result"]):
                outputs = []
                for key in decks.VIEW_KEYS:
                    component = RENDERERS[key].component()
                    component.visible = False
                    outputs.append(component)
        ballot, blind = _blind()
        caption = gr.Markdown(elem_classes=["present-caption"])
        notes = gr.Markdown(elem_classes=["present-notes"])
        with gr.Row(elem_classes=["present-controls"]):
            buttons = {
                "prev": gr.Button("‹ Previous (←)", elem_id="present-prev", size="sm"),
                "live": gr.Button("▶ Run live (Enter)", variant="primary", elem_id="present-run", size="sm"),
                "recorded": gr.Button("⏺ Recording (R)", elem_id="present-recorded", size="sm"),
                "next": gr.Button("Next (→) ›", elem_id="present-next", size="sm"),
                "exit": gr.Button("Leave (Esc)", elem_id="present-exit", size="sm"),
            }
    buttons.update(blind["buttons"])
    return stage, [counter, texts, image, audio, table, *outputs, ballot, blind["row"], *blind["letters"],
                   blind["reveal"], caption, notes], buttons


def _blind() -> tuple[gr.State, dict[str, Any]]:
    """A blind step's part of the stage (``decks.blind_view``'s order): its ballot, whose lettered panes are drawn
    when it changes, the vote row (a button per letter, tie, all bad: each with its key) and the reveal."""
    ballot = gr.State()

    @gr.render(inputs=[ballot], triggers=[ballot.change])
    def panes(shown: dict[str, Any] | None) -> None:
        if not shown:
            return
        renderer = RENDERERS[TASKS[shown["task"]].renderer]
        with gr.Row(equal_height=False, elem_classes=["present-blind"]):
            for title, output in zip(decks.pane_titles(shown), shown["outputs"]):
                with gr.Column(min_width=240, elem_classes=["present-blind-pane"]):
                    gr.Markdown(title, elem_classes=["present-blind-title"])
                    filled(renderer.component(), output)

    with gr.Column(visible=False, elem_classes=["present-vote"]) as row:
        gr.Markdown("**Vote with a key:** the letter of the better one (**A**, **B**…) · **T**: a tie · **X**: all "
                    "bad. The names are revealed after the vote, which counts in Compare's leaderboard.",
                    elem_classes=["present-vote-help"])
        with gr.Row():
            letters = [gr.Button(f"👍 {letter} ({letter})", elem_id=f"present-vote-{letter.lower()}", visible=j < 2)
                       for j, letter in enumerate(compare.LETTERS[:compare.MAX_PANES])]
            tie = gr.Button("🤝 Tie (T)", elem_id="present-vote-tie")
            bad = gr.Button("👎 All bad (X)", elem_id="present-vote-bad")
    reveal = gr.Markdown(elem_classes=["present-reveal"])
    votes = {letter: button for letter, button in zip(compare.LETTERS, letters)}
    return ballot, {"row": row, "letters": letters, "reveal": reveal,
                    "buttons": {f"vote-{k}": b for k, b in {**votes, "tie": tie, "bad": bad}.items()}}


def _typed() -> dict[str, object]:
    """A step typed in now rather than picked from the runs: text tasks only (the registry's, ``decks.typed_tasks``),
    ``decks.TYPED_INPUTS`` text boxes labelled by the task picked."""
    first = decks.typed_tasks()[0][1]
    with gr.Accordion("✍️ Or type in a new step (text tasks only)", open=False, elem_classes=["present-typed"]):
        gr.Markdown("A step that is no past run: it has **no recording** until it is played live (Enter), which runs "
                    "it, and records it, like any run. If that live run fails, the stage says so: there is nothing "
                    "to fall back to.")
        with gr.Row(equal_height=False):
            task = gr.Dropdown(decks.typed_tasks(), value=first, label="Task (text tasks)", scale=2)
            provider = gr.Dropdown([o for o in pickers.provider_options() if o[1] != pickers.CUSTOM], value="auto",
                                   label="Provider", scale=2)
        model = gr.Dropdown(TASKS[first].model_choices, value=TASKS[first].default_model, label="Model",
                            allow_custom_value=True, elem_classes=["present-typed-model"])
        texts = [gr.Textbox(**box) for box in decks.typed_boxes(first)]
        notes = gr.Textbox(label="Speaker notes of the new step", lines=1)
        add = gr.Button("Add this step to the deck", size="sm")
        targets = gr.Textbox(label="Or a blind comparison: 2 to 4 targets, one a line", lines=2,
                             placeholder="model\nmodel @ provider", elem_classes=["present-typed-targets"],
                             info="The stage shows their answers as A, B… shuffled; the audience votes with a key.")
        blind = gr.Button("⚖️ Add as a blind comparison step", size="sm")
    return {"task": task, "model": model, "provider": provider, "texts": texts, "notes": notes, "add": add,
            "targets": targets, "blind": blind}


def build(demo: gr.Blocks) -> None:
    """The Present page's components and events, inside ``demo.route("Present", "/present")``. Every event is
    private: a deck is a page of the browser's own runs, not an API."""
    from .. import ui  # the token box's session state, as the other pages keep it

    import json

    owner_browser, owner = owners.browser_state(), gr.State()
    deck_id, share_id, position = gr.State(), gr.State(""), gr.State(0)
    with gr.Column() as editor:
        gr.Markdown("## 🎬 Present\nBuild a deck from your runs, then present it one step at a time, large: each step "
                    "runs live, or shows its recording, labelled so.", elem_classes=["present-header"])
        with gr.Row(equal_height=True):
            token = gr.Textbox(label="Hugging Face token", type="password", placeholder="hf_…", scale=3,
                               info="Kept on the server for this browser tab only; the stage never shows it.")
            bill_to = gr.Dropdown([pickers.OWN_ACCOUNT], value="", label="Bill to", visible=False)
        token_line = gr.Markdown(ui._token_note(), elem_classes=["token-status"])
        session_token, _ = ui._build_token(demo, token, [token_line, bill_to], owner)
        budget, guard = ui.session_guard(demo)  # the spend guard: this browser's budgets, this session's start
        with gr.Row(equal_height=False):
            picker = gr.Dropdown([], label="Deck", scale=2, elem_classes=["present-deck"])
            title = gr.Textbox(label="Title (Enter to rename)", scale=2, max_lines=1, elem_classes=["present-title"])
            with gr.Column(scale=1, min_width=160):
                new = gr.Button("➕ New deck", size="sm")
                delete = gr.Button("🗑️ Delete deck", size="sm", variant="stop")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2):
                runs = gr.CheckboxGroup([], label="Your recent runs (newest first): check the ones to add",
                                        elem_classes=["present-runs"])
                with gr.Row(equal_height=False):
                    add = gr.Button("Add the checked runs to the deck", variant="secondary", size="sm")
                    add_blind = gr.Button("⚖️ Add the checked comparison as a blind step", size="sm")
                    refresh = gr.Button("↻ Refresh the list", size="sm", scale=0)
                typed = _typed()
            with gr.Column(scale=3):
                steps = gr.Dataframe(headers=decks.STEPS_COLUMNS, interactive=False, wrap=True, label="Steps, in order",
                                     column_widths=["6%", "18%", "30%", "13%", "21%", "12%"],
                                     elem_classes=["present-steps"])
                with gr.Row(equal_height=False):
                    step_no = gr.Number(1, label="Step #", precision=0, minimum=1, scale=0, min_width=90)
                    notes = gr.Textbox(label="Speaker notes of this step (N shows them on the stage)", lines=2, scale=3)
                with gr.Row(equal_height=False):
                    up = gr.Button("↑ Up", size="sm")
                    down = gr.Button("↓ Down", size="sm")
                    drop = gr.Button("Remove", size="sm")
                    keep_notes = gr.Button("Save notes", size="sm")
        with gr.Row(equal_height=False):
            offline = gr.Checkbox(False, label="Open each step with its recording (no network needed)", scale=3,
                                  info="Otherwise a step opens ready to run: Enter runs it live.")
            show = gr.Button("▶ Present", variant="primary", elem_id="present-start", scale=1)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2):
                share = gr.Button("🔗 Share a read-only link", size="sm")
                link = gr.Textbox(label="Read-only link (relative to this server)", interactive=False,
                                  buttons=["copy"], elem_classes=["present-link"])
            with gr.Column(scale=2):
                export = gr.Button("⬇️ Export as one HTML file", size="sm")
                with_notes = gr.Checkbox(False, label="Export the speaker notes too")
                exported = gr.File(label="Deck (opens with no server)", interactive=False, height=80,
                                   elem_classes=["present-export"])
    stage, shown, buttons = _stage()

    modes = [editor, stage, buttons["live"]]
    edited = [picker, deck_id, title, steps]
    stage_out = [position, *shown]
    where = [owner, deck_id, share_id]
    demo.load(None, None, None, js=KEYS_JS % (json.dumps(CSS), json.dumps(decks.VOTE_KEYS)), **PRIVATE)
    demo.load(owners.load, owner_browser, [owner_browser, owner], **PRIVATE).then(
        decks.open_page, owner, [share_id, *edited, runs, *modes], **PRIVATE).then(
        decks.opened, [owner, share_id], stage_out, **PRIVATE)
    picker.input(decks.pick_deck, [owner, picker], edited, **PRIVATE)
    new.click(decks.new_deck, owner, edited, **PRIVATE)
    title.submit(decks.rename_deck, [owner, deck_id, title], edited, **PRIVATE)
    delete.click(decks.delete_deck, [owner, deck_id], edited, **PRIVATE)
    add.click(decks.add_picked, [owner, deck_id, runs], [*edited, runs], **PRIVATE)
    add_blind.click(decks.add_picked_comparisons, [owner, deck_id, runs], [*edited, runs], **PRIVATE)
    refresh.click(decks._runs, owner, runs, **PRIVATE)
    typed["task"].input(decks.typed_task_picked, typed["task"], [typed["model"], *typed["texts"]], **PRIVATE)
    typed["add"].click(decks.add_typed, [owner, deck_id, typed["task"], typed["model"], typed["provider"],
                                         typed["notes"], *typed["texts"]], edited, **PRIVATE)
    typed["blind"].click(decks.add_typed_blind, [owner, deck_id, typed["task"], typed["targets"], typed["notes"],
                                                 *typed["texts"]], edited, **PRIVATE)
    up.click(lambda o, d, n: decks.move(o, d, n, -1), [owner, deck_id, step_no], [*edited, step_no], **PRIVATE)
    down.click(lambda o, d, n: decks.move(o, d, n, 1), [owner, deck_id, step_no], [*edited, step_no], **PRIVATE)
    drop.click(decks.remove, [owner, deck_id, step_no], edited, **PRIVATE)
    step_no.change(decks.step_notes, [owner, deck_id, step_no], notes, **PRIVATE)
    keep_notes.click(decks.save_notes, [owner, deck_id, step_no, notes], edited, **PRIVATE)
    share.click(decks.share, [owner, deck_id], link, **PRIVATE)
    export.click(decks.export, [owner, deck_id, with_notes], exported, **PRIVATE)

    show.click(decks.present, [*where, offline], [*modes, *stage_out], **PRIVATE)
    buttons["exit"].click(decks.leave, share_id, modes, **PRIVATE)
    # → pressed again while the last step is still landing is kept and run after it (Gradio's default, "once", drops
    # it: the counter already shows the new step a moment before the event completes)
    buttons["prev"].click(lambda o, d, s, p, r: decks.go(o, d, s, p, -1, r), [*where, position, offline], stage_out,
                          trigger_mode="always_last", **PRIVATE)
    buttons["next"].click(lambda o, d, s, p, r: decks.go(o, d, s, p, 1, r), [*where, position, offline], stage_out,
                          trigger_mode="always_last", **PRIVATE)
    buttons["recorded"].click(decks.show_recording, [*where, position], stage_out, **PRIVATE)
    ballot, vote_row, *_, reveal = shown[-5 - compare.MAX_PANES:-2]  # decks.blind_view's
    caption = shown[-2]
    for choice in decks.VOTE_KEYS:
        buttons[f"vote-{choice}"].click(lambda o, s, b, c=choice: decks.vote(o, s, b, c), [owner, share_id, ballot],
                                        [ballot, vote_row, reveal, caption], **PRIVATE)
    buttons["live"].click(decks.run_live, [*where, position, session_token, budget, guard], stage_out,
                          show_progress="minimal", **PRIVATE)
