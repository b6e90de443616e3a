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

__all__ = ["Input", "Task", "TASKS", "GROUPS", "get_task", "ASSETS"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# How an input is entered and checked (``ui._input_component`` builds it, ``service._prepare_inputs`` checks it):
# text, lines (a list, comma- or newline-separated), image, audio, chat (messages), table (a dataframe, sent as
# {column: [cells]}), tools (a JSON list of function tools), schema (a JSON Schema the reply must match).
InputKind = Literal["text", "lines", "image", "audio", "chat", "table", "tools", "schema"]

# The page groups the task tabs by modality, in this order; ``Task.group`` places each task in one of them.
GROUPS = ("Chat & text generation", "Text analysis", "Vision", "Image & video generation", "Audio", "Tabular")


@dataclass(frozen=True)
class Input:
    """One input of a task. The first input is passed positionally, the others by ``name``."""

    name: str
    kind: InputKind
    label: str
    placeholder: str = ""
    lines: int = 1
    info: str = ""
    required: bool = True  # an optional input left empty is not sent


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
    # Several inputs go in one request (``service.run_bundle``): its InferenceClient method takes a list of its first
    # input and answers one result per input, on every provider it serves the task by. huggingface_hub 2.4:
    # ``feature_extraction`` only (``text: str | list[str]``; the provider's answer is returned whole, one row per
    # text). ``text_classification`` types ``text: str`` and keeps ``[0]`` of the answer, so a list sent there
    # would come back as its first text's labels alone, although hf-inference's pipeline answers a list.
    bundles: bool = False

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

    @property
    def group(self) -> str:
        """Its group in ``GROUPS``, read from what it takes in and what it shows."""
        kinds = {spec.kind for spec in self.inputs}
        if "table" in kinds:
            return "Tabular"
        if "audio" in kinds or self.renderer in ("audio", "audios"):
            return "Audio"
        if self.renderer in ("image", "slider", "video"):  # it makes pictures
            return "Image & video generation"
        if "image" in kinds:
            return "Vision"
        if self.renderer in ("chat", "text"):  # text in, text out
            return "Chat & text generation"
        return "Text analysis"


def _t(*args, **kwargs) -> Task:
    return Task(*args, **kwargs)


def _asset(name: str) -> str:
    return str(ASSETS / name)


_SAMPLING = dict(
    temperature=dict(minimum=0.0, maximum=2.0, step=0.05),
    top_p=dict(minimum=0.0, maximum=1.0, step=0.05),
    seed=dict(minimum=0, maximum=2**32 - 1),
)

_WEATHER_TOOLS = """[
  {
    "type": "function",
    "function": {
      "name": "get_weather",
      "description": "Get the current weather in a city",
      "parameters": {
        "type": "object",
        "properties": {
          "city": {"type": "string", "description": "City name, e.g. Paris"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
        },
        "required": ["city"]
      }
    }
  }
]"""

_CITY_SCHEMA = """{
  "type": "object",
  "properties": {
    "city": {"type": "string"},
    "country": {"type": "string"},
    "population_millions": {"type": "number", "minimum": 0}
  },
  "required": ["city", "country", "population_millions"],
  "additionalProperties": false
}"""

_REPOS_TABLE = {
    "headers": ["Repository", "Stars", "Contributors", "Programming language"],
    "data": [
        ["Transformers", "36542", "651", "Python"],
        ["Datasets", "4512", "77", "Python"],
        ["Tokenizers", "3934", "34", "Rust, Python and NodeJS"],
    ],
}

_PLANETS_TABLE = {
    "headers": ["Planet", "Moons", "Diameter (km)"],
    "data": [["Mercury", "0", "4879"], ["Earth", "1", "12742"], ["Mars", "2", "6779"], ["Jupiter", "95", "139820"]],
}

_WINE_TABLE = {
    "headers": ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides", "free_sulfur_dioxide",
                "total_sulfur_dioxide", "density", "pH", "sulphates", "alcohol"],
    "data": [
        ["7.4", "0.7", "0", "1.9", "0.076", "11", "34", "0.9978", "3.51", "0.56", "9.4"],
        ["7.8", "0.88", "0", "2.6", "0.098", "25", "67", "0.9968", "3.2", "0.68", "9.8"],
        ["10.3", "0.32", "0.45", "6.4", "0.073", "5", "13", "0.9976", "3.23", "0.82", "12.6"],
    ],
}

_FISH_TABLE = {
    "headers": ["Species", "Length1", "Length2", "Length3", "Height", "Width"],
    "data": [
        ["Bream", "23.2", "25.4", "30", "11.52", "4.02"],
        ["Bream", "24", "26.3", "31.2", "12.48", "4.3059"],
        ["Perch", "19", "20.5", "22.8", "6.4752", "3.3516"],
    ],
}

_VIDEO_NOTE = (" ⚠️ Slow and billed: a video takes one to several minutes and providers bill each one "
               "(often tens of cents). Run only when you mean it.")

TASKS: dict[str, Task] = {
    t.id: t
    for t in [
        _t(
            "chat-completion",
            "Chat",
            "chat_completion",
            (
                Input("messages", "chat", "Message", "Ask anything… (attach images for vision models)", lines=2),
                Input("system", "text", "System prompt", "You are a helpful assistant.", lines=2, required=False),
                Input("tools", "tools", "Tools (JSON list of functions the model may call)", required=False,
                      info="OpenAI-style function tools. The model's calls are shown as JSON; nothing is executed."),
                Input("response_format", "schema", "Structured output (JSON Schema the reply must match)", required=False,
                      info="The reply is requested as JSON, validated against this schema and shown parsed."),
            ),
            "chat",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "openai/gpt-oss-20b",
             "Qwen/Qwen2.5-VL-7B-Instruct", "google/gemma-3-27b-it", "deepseek-ai/DeepSeek-R1"),
            from_hf(
                hf.ChatCompletionInput,
                ["temperature", "top_p", "max_tokens", "stop", "seed"],
                max_tokens=dict(minimum=1, maximum=32768, default=256),
                **_SAMPLING,
            ),
            (
                ("What is the capital of France?", "You are a concise assistant.", "", ""),
                ("Write a haiku about tea.", "", "", ""),
                ({"text": "What shapes do you see, and what colours are they?", "files": [_asset("shapes.png")]}, "", "", ""),
                ("What's the weather like in Paris right now?", "", _WEATHER_TOOLS, ""),
                ("Give me the key facts about Paris.", "", "", _CITY_SCHEMA),
            ),
            "Chat with a model, the reply streaming in; the conversation is kept until you clear it. Attach images "
            "for vision-language models (e.g. Qwen2.5-VL, Gemma 3), declare tools, or ask for JSON matching a schema. "
            "Reasoning models (DeepSeek-R1, gpt-oss) show their reasoning in a collapsible block.",
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
            bundles=True,
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
        _t(
            "fill-mask",
            "Fill mask",
            "fill_mask",
            (Input("text", "text", "Text with a mask token", "The capital of France is [MASK].", lines=2,
                   info="Write the model's mask token where the missing word goes: [MASK] for BERT, <mask> for RoBERTa."),),
            "fill_mask",
            "google-bert/bert-base-uncased",
            ("FacebookAI/roberta-base", "distilbert/distilbert-base-uncased"),
            from_hf(hf.FillMaskParameters, ["top_k", "targets"], top_k=dict(minimum=1, maximum=50, default=5)),
            (("The capital of France is [MASK].",), ("The goal of life is [MASK].",)),
            "Guess the masked word: each candidate shown as a bar, with the sentence it completes.",
        ),
        _t(
            "question-answering",
            "Question answering",
            "question_answering",
            (
                Input("question", "text", "Question", "Where do I live?"),
                Input("context", "text", "Context", "My name is Wolfgang and I live in Berlin.", lines=6),
            ),
            "qa",
            "deepset/roberta-base-squad2",
            ("distilbert/distilbert-base-cased-distilled-squad", "google-bert/bert-large-uncased-whole-word-masking-finetuned-squad"),
            from_hf(
                hf.QuestionAnsweringParameters,
                ["top_k", "max_answer_len", "handle_impossible_answer", "align_to_words", "doc_stride", "max_question_len", "max_seq_len"],
                top_k=dict(minimum=1, maximum=20),
                max_answer_len=dict(minimum=1, maximum=512),
                handle_impossible_answer=dict(default=False),  # a checkbox is always sent: use the pipeline's defaults
                align_to_words=dict(default=True),
                doc_stride=dict(minimum=0, maximum=512),
                max_question_len=dict(minimum=1, maximum=512),
                max_seq_len=dict(minimum=16, maximum=4096),
            ),
            (
                ("Where do I live?", "My name is Wolfgang and I live in Berlin. I work as a baker."),
                ("When was the tower completed?", "The Eiffel Tower was completed in 1889. It is 330 metres tall and "
                 "was the tallest man-made structure in the world for 41 years."),
            ),
            "Find the answer to a question inside a text: the answer is highlighted where it was found, with its score.",
        ),
        _t(
            "table-question-answering",
            "Table question answering",
            "table_question_answering",
            (
                Input("table", "table", "Table (edit the cells, add rows or columns)"),
                Input("query", "text", "Question", "How many stars does the transformers repository have?"),
            ),
            "table_qa",
            "google/tapas-base-finetuned-wtq",
            ("google/tapas-large-finetuned-wtq", "microsoft/tapex-base-finetuned-wtq"),
            # truncation is left to the JSON box: its server default ("drop_rows_to_fit" for TAPAS) is no bool
            from_hf(hf.TableQuestionAnsweringParameters, ["padding", "sequential"], sequential=dict(default=False)),
            (
                (_REPOS_TABLE, "How many stars does the transformers repository have?"),
                (_PLANETS_TABLE, "How many moons does Mars have?"),
            ),
            "Ask a question about a table: the answer, the aggregation used and the cells it came from, highlighted.",
        ),
        _t(
            "document-question-answering",
            "Document question answering",
            "document_question_answering",
            (
                Input("image", "image", "Document image"),
                Input("question", "text", "Question", "What is the invoice number?"),
            ),
            "answers",
            "impira/layoutlm-document-qa",
            ("naver-clova-ix/donut-base-finetuned-docvqa",),
            from_hf(
                hf.DocumentQuestionAnsweringParameters,
                ["top_k", "max_answer_len", "handle_impossible_answer", "lang", "doc_stride", "max_question_len", "max_seq_len"],
                top_k=dict(minimum=1, maximum=20),
                max_answer_len=dict(minimum=1, maximum=512),
                handle_impossible_answer=dict(default=False),
                doc_stride=dict(minimum=0, maximum=512),
                max_question_len=dict(minimum=1, maximum=512),
                max_seq_len=dict(minimum=16, maximum=4096),
            ),
            ((_asset("invoice.png"), "What is the invoice number?"), (_asset("invoice.png"), "What is the total due?")),
            "Ask a question about a scanned document (invoice, form, receipt); answers shown with their scores.",
        ),
        _t(
            "visual-question-answering",
            "Visual question answering",
            "visual_question_answering",
            (
                Input("image", "image", "Image"),
                Input("question", "text", "Question", "What colour is the car?"),
            ),
            "answers",
            "dandelin/vilt-b32-finetuned-vqa",
            ("Salesforce/blip-vqa-base",),
            from_hf(hf.VisualQuestionAnsweringParameters, ["top_k"], top_k=dict(minimum=1, maximum=20)),
            ((_asset("street.png"), "What colour is the car?"), (_asset("shapes.png"), "How many shapes are there?")),
            "Ask a question about an image; the candidate answers are shown as bars.",
        ),
        _t(
            "image-to-text",
            "Image to text (captioning)",
            "image_to_text",
            (Input("image", "image", "Image"),),
            "text",
            "Salesforce/blip-image-captioning-large",
            ("Salesforce/blip-image-captioning-base", "nlpconnect/vit-gpt2-image-captioning"),
            (),  # InferenceClient.image_to_text takes no parameters
            ((_asset("street.png"),), (_asset("shapes.png"),)),
            "Describe an image in a sentence.",
        ),
        _t(
            "zero-shot-image-classification",
            "Zero-shot image classification",
            "zero_shot_image_classification",
            (
                Input("image", "image", "Image"),
                Input("candidate_labels", "lines", "Candidate labels", "a street, a beach, a forest",
                      info="Comma- or newline-separated."),
            ),
            "label",
            "openai/clip-vit-large-patch14",
            ("openai/clip-vit-base-patch32", "google/siglip-so400m-patch14-384"),
            from_hf(hf.ZeroShotImageClassificationParameters, ["hypothesis_template"],
                    hypothesis_template=dict(help="How each label becomes a sentence, e.g. 'This is a photo of {}.'")),
            (
                (_asset("street.png"), "a city street, a beach, a forest"),
                (_asset("shapes.png"), "geometric shapes, a cat, a landscape"),
            ),
            "Label an image with labels you choose, no training needed.",
        ),
        _t(
            "image-segmentation",
            "Image segmentation",
            "image_segmentation",
            (Input("image", "image", "Image"),),
            "segments",
            "nvidia/segformer-b0-finetuned-ade-512-512",
            ("facebook/mask2former-swin-large-coco-panoptic", "facebook/detr-resnet-50-panoptic"),
            from_hf(
                hf.ImageSegmentationParameters,
                ["subtask", "threshold", "mask_threshold", "overlap_mask_area_threshold"],
                threshold=dict(minimum=0.0, maximum=1.0, step=0.05),
                mask_threshold=dict(minimum=0.0, maximum=1.0, step=0.05),
                overlap_mask_area_threshold=dict(minimum=0.0, maximum=1.0, step=0.05),
            ),
            ((_asset("street.png"),), (_asset("shapes.png"),)),
            "Split an image into regions: each mask overlaid in its own colour, with a legend (hover an entry to see "
            "that mask alone).",
        ),
        _t(
            "image-to-image",
            "Image to image",
            "image_to_image",
            (
                Input("image", "image", "Image"),
                Input("prompt", "text", "Prompt (what to change)", "Turn it into a night scene", lines=2, required=False),
            ),
            "slider",
            "black-forest-labs/FLUX.1-Kontext-dev",
            ("timbrooks/instruct-pix2pix", "stabilityai/stable-diffusion-xl-refiner-1.0"),
            from_hf(
                hf.ImageToImageParameters,
                ["negative_prompt", "num_inference_steps", "guidance_scale"],
                num_inference_steps=dict(minimum=1, maximum=100),
                guidance_scale=dict(minimum=0.0, maximum=30.0, step=0.5),
            ),
            ((_asset("street.png"), "Turn it into a night scene with street lights"), (_asset("shapes.png"), "Make the shapes look like fruit")),
            "Edit an image with a prompt; drag the slider to compare before and after (billed per image by most providers).",
        ),
        _t(
            "audio-classification",
            "Audio classification",
            "audio_classification",
            (Input("audio", "audio", "Audio"),),
            "label",
            "MIT/ast-finetuned-audioset-10-10-0.4593",
            ("superb/hubert-base-superb-er", "ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition"),
            from_hf(hf.AudioClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=100)),
            ((_asset("hello.wav"),), (_asset("chime.wav"),)),
            "Label a sound (speech, music, emotion…). Scores shown as bars.",
        ),
        _t(
            "text-to-speech",
            "Text to speech",
            "text_to_speech",
            (Input("text", "text", "Text", "Hello! This sentence was spoken by a model.", lines=3),),
            "audio",
            "hexgrad/Kokoro-82M",
            ("facebook/mms-tts-eng", "suno/bark-small"),
            from_hf(
                hf.TextToSpeechGenerationParameters,
                ["temperature", "top_p", "top_k", "max_new_tokens", "num_beams"],
                temperature=dict(minimum=0.0, maximum=2.0, step=0.05),
                top_p=dict(minimum=0.0, maximum=1.0, step=0.05),
                top_k=dict(minimum=1, maximum=1000),
                max_new_tokens=dict(minimum=1, maximum=4096),
                num_beams=dict(minimum=1, maximum=16),
            ),
            (("Hello! This sentence was spoken by a model.",), ("The quick brown fox jumps over the lazy dog.",)),
            "Turn text into speech you can play and download.",
        ),
        _t(
            "audio-to-audio",
            "Audio to audio",
            "audio_to_audio",
            (Input("audio", "audio", "Audio"),),
            "audios",
            "speechbrain/sepformer-wham",
            ("speechbrain/mtl-mimic-voicebank", "JorisCos/ConvTasNet_Libri2Mix_sepclean_16k"),
            (),  # InferenceClient.audio_to_audio takes no parameters
            ((_asset("noisy_hello.wav"),), (_asset("weather.wav"),)),
            "Enhance speech or separate sources; every audio the model returns is playable.",
        ),
        _t(
            "text-to-video",
            "Text to video",
            "text_to_video",
            (Input("prompt", "text", "Prompt", "A red fox running through fresh snow, cinematic", lines=3),),
            "video",
            "Wan-AI/Wan2.1-T2V-14B",
            ("tencent/HunyuanVideo", "Lightricks/LTX-Video"),
            from_hf(
                hf.TextToVideoParameters,
                ["negative_prompt", "num_frames", "num_inference_steps", "guidance_scale", "seed"],
                num_frames=dict(minimum=1, maximum=257, step=1),
                num_inference_steps=dict(minimum=1, maximum=100),
                guidance_scale=dict(minimum=0.0, maximum=30.0, step=0.5),
                seed=dict(minimum=0, maximum=2**32 - 1),
            ),
            (("A red fox running through fresh snow, cinematic",), ("Waves rolling onto a beach at sunset, drone shot",)),
            "Generate a short video from a prompt." + _VIDEO_NOTE,
            billed_slow=True,
        ),
        _t(
            "image-to-video",
            "Image to video",
            "image_to_video",
            (
                Input("image", "image", "First frame"),
                Input("prompt", "text", "Prompt (how it moves)", "The camera slowly zooms in", lines=2, required=False),
            ),
            "video",
            "Wan-AI/Wan2.1-I2V-14B-720P",
            ("tencent/HunyuanVideo-I2V",),
            from_hf(
                hf.ImageToVideoParameters,
                ["negative_prompt", "num_frames", "num_inference_steps", "guidance_scale", "seed"],
                num_frames=dict(minimum=1, maximum=257, step=1),
                num_inference_steps=dict(minimum=1, maximum=100),
                guidance_scale=dict(minimum=0.0, maximum=30.0, step=0.5),
                seed=dict(minimum=0, maximum=2**32 - 1),
            ),
            ((_asset("street.png"), "The red car drives away"), (_asset("shapes.png"), "The shapes slowly spin")),
            "Animate an image." + _VIDEO_NOTE,
            billed_slow=True,
        ),
        _t(
            "tabular-classification",
            "Tabular classification",
            "tabular_classification",
            (Input("table", "table", "Rows to classify (edit the cells, add rows)"),),
            "predictions",
            "julien-c/wine-quality",
            (),
            (),  # InferenceClient.tabular_classification takes no parameters
            ((_WINE_TABLE,), ({"headers": _WINE_TABLE["headers"], "data": _WINE_TABLE["data"][2:]},)),
            "Classify each row of a table (scikit-learn and other tabular models); predictions are added as a column.",
        ),
        _t(
            "tabular-regression",
            "Tabular regression",
            "tabular_regression",
            (Input("table", "table", "Rows to predict (edit the cells, add rows)"),),
            "predictions",
            "scikit-learn/Fish-Weight",
            (),
            (),  # InferenceClient.tabular_regression takes no parameters
            ((_FISH_TABLE,), ({"headers": _FISH_TABLE["headers"], "data": _FISH_TABLE["data"][2:]},)),
            "Predict a number for each row of a table; predictions are added as a column.",
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
