"""The task registry: every task is declared here once, keyed by the Hub's kebab-case task id.

Tabs (``ui.py``), API names, tests and code snippets are all derived from these entries. Adding a task is
one ``Task(...)`` entry plus, at most, one renderer in ``renderers.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from huggingface_hub.inference._generated import types as hf

from .errors import InputError
from .params import ParamSpec, from_hf

__all__ = ["Input", "Task", "TASKS", "get_task", "ASSETS"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"

InputKind = Literal["text", "lines", "image", "audio", "chat"]


@dataclass(frozen=True)
class Input:
    """One input of a task. The first input is passed positionally, the others by ``name``."""

    name: str
    kind: InputKind
    label: str
    placeholder: str = ""
    lines: int = 1
    info: str = ""


@dataclass(frozen=True)
class Task:
    id: str  # the Hub task id, kebab-case: "text-classification"
    label: str
    method: str  # the InferenceClient method that runs it
    inputs: tuple[Input, ...]
    renderer: str  # a key of renderers.RENDERERS
    default_model: str
    models: tuple[str, ...] = ()  # more suggestions for the model picker
    params: tuple[ParamSpec, ...] = ()
    examples: tuple[tuple[Any, ...], ...] = ()
    description: str = ""
    streaming: bool = False
    billed_slow: bool = False  # slow and billed: warn before Run
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_name(self) -> str:
        return self.id.replace("-", "_")

    @property
    def provider_task(self) -> str:
        """The task name huggingface_hub's provider helpers use."""
        return "conversational" if self.id == "chat-completion" else self.id

    @property
    def model_choices(self) -> list[str]:
        return list(dict.fromkeys((self.default_model, *self.models)))


def _t(*args, **kwargs) -> Task:
    return Task(*args, **kwargs)


def _asset(name: str) -> str:
    return str(ASSETS / name)


_SAMPLING = dict(
    temperature=dict(minimum=0.0, maximum=2.0, step=0.05),
    top_p=dict(minimum=0.0, maximum=1.0, step=0.05),
    seed=dict(minimum=0, maximum=2**32 - 1),
)

TASKS: dict[str, Task] = {
    t.id: t
    for t in [
        _t(
            "chat-completion",
            "Chat",
            "chat_completion",
            (
                Input("messages", "chat", "Message", "Ask anything…", lines=2),
                Input("system", "text", "System prompt", "You are a helpful assistant.", lines=2),
            ),
            "chat",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "openai/gpt-oss-20b"),
            from_hf(
                hf.ChatCompletionInput,
                ["temperature", "top_p", "max_tokens", "stop", "seed"],
                max_tokens=dict(minimum=1, maximum=32768, default=256),
                **_SAMPLING,
            ),
            (("What is the capital of France?", "You are a concise assistant."), ("Write a haiku about tea.", "")),
            "Chat with a model, the reply streaming in. The conversation is kept until you clear it.",
            streaming=True,
        ),
        _t(
            "text-generation",
            "Text generation",
            "text_generation",
            (Input("prompt", "text", "Prompt", "Once upon a time", lines=4),),
            "text",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct"),
            from_hf(
                hf.TextGenerationInputGenerateParameters,
                ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "stop", "seed", "return_full_text"],
                max_new_tokens=dict(minimum=1, maximum=8192, default=64),
                top_k=dict(minimum=1, maximum=1000),
                repetition_penalty=dict(minimum=0.0, maximum=10.0, step=0.05),
                **_SAMPLING,
            ),
            (("Once upon a time, in a quiet village,",), ("The three laws of robotics are",)),
            "Continue a prompt.",
        ),
        _t(
            "text-classification",
            "Text classification",
            "text_classification",
            (Input("text", "text", "Text", "I like you. I love you", lines=3),),
            "label",
            "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            ("cardiffnlp/twitter-roberta-base-sentiment-latest", "ProsusAI/finbert"),
            from_hf(hf.TextClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=100)),
            (("I like you. I love you",), ("This movie was a waste of two hours.",)),
            "Sort a text into labels (sentiment, topic…). Scores shown as bars.",
        ),
        _t(
            "zero-shot-classification",
            "Zero-shot classification",
            "zero_shot_classification",
            (
                Input("text", "text", "Text", "I have a problem with my iPhone that needs to be resolved asap!", lines=3),
                Input("candidate_labels", "lines", "Candidate labels", "urgent, not urgent, phone, tablet",
                      info="Comma- or newline-separated."),
            ),
            "label",
            "facebook/bart-large-mnli",
            ("MoritzLaurer/deberta-v3-large-zeroshot-v2.0",),
            from_hf(hf.ZeroShotClassificationParameters, ["multi_label", "hypothesis_template"]),
            (
                ("I have a problem with my iPhone that needs to be resolved asap!", "urgent, not urgent, phone, tablet, computer"),
                ("The team scored in the last minute to win the cup.", "sports, politics, technology"),
            ),
            "Classify a text into labels you choose, no training needed.",
        ),
        _t(
            "token-classification",
            "Token classification (NER)",
            "token_classification",
            (Input("text", "text", "Text", "My name is Sarah Jessica Parker but you can call me Jessica", lines=3),),
            "highlight",
            "dslim/bert-base-NER",
            ("FacebookAI/xlm-roberta-large-finetuned-conll03-english",),
            from_hf(hf.TokenClassificationParameters, ["aggregation_strategy", "ignore_labels", "stride"], stride=dict(minimum=0, maximum=512)),
            (
                ("My name is Sarah Jessica Parker but you can call me Jessica",),
                ("Hugging Face is a company based in New York and Paris.",),
            ),
            "Find named entities (people, places, organisations) in a text.",
        ),
        _t(
            "summarization",
            "Summarization",
            "summarization",
            (Input("text", "text", "Text", "Paste a long text…", lines=8),),
            "text",
            "facebook/bart-large-cnn",
            ("Falconsai/text_summarization",),
            from_hf(hf.SummarizationParameters, ["truncation", "clean_up_tokenization_spaces"]),
            (
                ("The tower is 324 metres (1,063 ft) tall, about the same height as an 81-storey building, and the tallest "
                 "structure in Paris. Its base is square, measuring 125 metres (410 ft) on each side. During its construction, "
                 "the Eiffel Tower surpassed the Washington Monument to become the tallest man-made structure in the world.",),
                ("Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose "
                 "and oxygen. It happens mostly in the leaves, inside chloroplasts, which contain the pigment chlorophyll.",),
            ),
            "Shorten a text to its main points.",
        ),
        _t(
            "translation",
            "Translation",
            "translation",
            (Input("text", "text", "Text", "My name is Wolfgang and I live in Berlin", lines=3),),
            "text",
            "google-t5/t5-base",
            ("Helsinki-NLP/opus-mt-en-fr", "facebook/nllb-200-distilled-600M"),
            from_hf(hf.TranslationParameters, ["src_lang", "tgt_lang", "truncation"]),
            (("My name is Wolfgang and I live in Berlin",), ("The weather is lovely today.",)),
            "Translate a text. Multilingual models (NLLB, mBART) need source and target languages.",
        ),
        _t(
            "feature-extraction",
            "Feature extraction (embeddings)",
            "feature_extraction",
            (Input("text", "text", "Text", "Today is a sunny day and I will get some ice cream.", lines=3),),
            "embedding",
            "sentence-transformers/all-MiniLM-L6-v2",
            ("BAAI/bge-small-en-v1.5", "intfloat/multilingual-e5-large"),
            from_hf(hf.FeatureExtractionInput,
                    ["normalize", "truncate", "truncation_direction"],
                    normalize=dict(help="Normalize the embeddings to unit length."),
                    truncate=dict(help="Truncate inputs longer than the model accepts."),
                    truncation_direction=dict(help="Which side to cut when truncating.")),
            (("Today is a sunny day and I will get some ice cream.",), ("Embeddings turn text into vectors.",)),
            "Turn a text into a vector (embedding).",
        ),
        _t(
            "sentence-similarity",
            "Sentence similarity",
            "sentence_similarity",
            (
                Input("sentence", "text", "Source sentence", "That is a happy person", lines=2),
                Input("other_sentences", "lines", "Sentences to compare", "One per line", lines=4, info="One sentence per line."),
            ),
            "similarity",
            "sentence-transformers/all-MiniLM-L6-v2",
            ("BAAI/bge-small-en-v1.5",),
            (),
            (
                ("That is a happy person", "That is a happy dog\nThat is a very happy person\nToday is a sunny day"),
                ("A man is eating food.", "A man is eating a meal.\nThe stock market fell today.\nA man is riding a horse."),
            ),
            "Score how close sentences are to a source sentence.",
        ),
        _t(
            "image-classification",
            "Image classification",
            "image_classification",
            (Input("image", "image", "Image"),),
            "label",
            "google/vit-base-patch16-224",
            ("microsoft/resnet-50", "Falconsai/nsfw_image_detection"),
            from_hf(hf.ImageClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=100)),
            ((_asset("shapes.png"),), (_asset("street.png"),)),
            "Label an image.",
        ),
        _t(
            "object-detection",
            "Object detection",
            "object_detection",
            (Input("image", "image", "Image"),),
            "boxes",
            "facebook/detr-resnet-50",
            ("hustvl/yolos-tiny",),
            from_hf(hf.ObjectDetectionParameters, ["threshold"], threshold=dict(minimum=0.0, maximum=1.0, step=0.05)),
            ((_asset("street.png"),), (_asset("shapes.png"),)),
            "Find objects in an image; boxes are drawn on it.",
        ),
        _t(
            "text-to-image",
            "Text to image",
            "text_to_image",
            (Input("prompt", "text", "Prompt", "An astronaut riding a horse on the moon", lines=3),),
            "image",
            "black-forest-labs/FLUX.1-schnell",
            ("stabilityai/stable-diffusion-xl-base-1.0",),
            from_hf(
                hf.TextToImageParameters,
                ["negative_prompt", "width", "height", "num_inference_steps", "guidance_scale", "seed"],
                width=dict(minimum=64, maximum=2048, step=64),
                height=dict(minimum=64, maximum=2048, step=64),
                num_inference_steps=dict(minimum=1, maximum=100),
                guidance_scale=dict(minimum=0.0, maximum=30.0, step=0.5),
                seed=dict(minimum=0, maximum=2**32 - 1),
            ),
            (("An astronaut riding a horse on the moon",), ("A watercolor painting of a fox in a snowy forest",)),
            "Generate an image from a prompt (billed per image by most providers).",
        ),
        _t(
            "automatic-speech-recognition",
            "Speech recognition",
            "automatic_speech_recognition",
            (Input("audio", "audio", "Audio"),),
            "text",
            "openai/whisper-large-v3",
            ("openai/whisper-large-v3-turbo",),
            (),
            ((_asset("hello.wav"),), (_asset("weather.wav"),)),
            "Transcribe speech to text.",
        ),
    ]
}


def get_task(task_id: str) -> Task:
    """The registry entry for ``task_id``; the error names the valid ones."""
    try:
        return TASKS[task_id]
    except KeyError:
        raise InputError(
            f"Unknown task '{task_id}'",
            f"Available tasks: {', '.join(TASKS)}",
            "Pick one of the tasks listed.",
        ) from None
