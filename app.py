"""Hugging Face Inference Playground: build the page and launch it."""

import argparse

from playground import local_backend
from playground.service import LOCAL
from playground.ui import CSS, build_app, default_provider

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link")
    args = parser.parse_args()
    if default_provider() == LOCAL:  # no token: the first run will be local, so start its engine process now
        local_backend.start_in_background(preload=True)
    build_app().launch(server_name=args.host, server_port=args.port, share=args.share, css=CSS)
