"""Hugging Face Inference Playground: build the page and launch it."""

import argparse
import os

from playground import ledger, local_backend, mcp_tools, public_mode
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
    parser.add_argument("--database-url", help="where runs are recorded: postgresql://user:password@host/db for "
                        "replicas sharing one database (default: PLAYGROUND_DATABASE_URL, else SQLite in the data dir)")
    parser.add_argument("--data-dir", help="the SQLite ledger and the owner secret (default: PLAYGROUND_DATA_DIR, "
                        "else the platform's user-data directory)")
    parser.add_argument("--retention-days", type=float, help="remove runs older than this (PLAYGROUND_RETENTION_DAYS)")
    parser.add_argument("--retention-mb", type=float, help="remove the oldest runs beyond this many MB of files "
                        "and records (PLAYGROUND_RETENTION_MB)")
    args = parser.parse_args()
    mcp = mcp_tools.enabled(args.mcp)
    if args.data_dir:
        os.environ["PLAYGROUND_DATA_DIR"] = args.data_dir  # the owner secret is kept there too
    ledger.configure(args.database_url, retention_days=args.retention_days, retention_mb=args.retention_mb)
    public = public_mode.configure(args.public or args.share)  # also on by itself on a Space (SPACE_ID)
    if default_provider() == LOCAL:  # no token: the first run will be local, so start its engine process now
        local_backend.start_in_background(preload=True)
    build_app(args.max_concurrency, mcp=mcp).launch(server_name=args.host, server_port=args.port, share=args.share,
                                                    css=CSS, mcp_server=mcp, **public.launch_options())
