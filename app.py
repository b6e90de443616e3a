"""Hugging Face Inference Playground: build the page and launch it."""

import argparse

from playground import local_backend, mcp_tools, public_mode
from playground.service import LOCAL
from playground.ui import CSS, build_app, default_provider

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link (implies --public)")
    parser.add_argument("--public", action="store_true", help="public mode, for a deployment others use (README)")
    parser.add_argument("--max-concurrency", type=int, help="events served at once, in all (default: "
                        "PLAYGROUND_MAX_CONCURRENCY, else 64)")
    parser.add_argument("--mcp", action="store_true", help="also serve every task as an MCP tool at "
                        "/gradio_api/mcp/ (or PLAYGROUND_MCP=1; README)")
    args = parser.parse_args()
    mcp = mcp_tools.enabled(args.mcp)
    public = public_mode.configure(args.public or args.share)  # also on by itself on a Space (SPACE_ID)
    if default_provider() == LOCAL:  # no token: the first run will be local, so start its engine process now
        local_backend.start_in_background(preload=True)
    build_app(args.max_concurrency, mcp=mcp).launch(server_name=args.host, server_port=args.port, share=args.share,
                                                    css=CSS, mcp_server=mcp, **public.launch_options())
