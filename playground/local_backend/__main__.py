"""``python -m playground.local_backend``: the engine process (see server.main and supervisor.py)."""

from .server import main

main()
