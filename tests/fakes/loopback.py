"""Real HTTP servers on chosen loopback addresses (127.0.0.1, 127.0.0.2, ...), for the public-mode tests.

Linux answers on the whole of 127.0.0.0/8, so one test can hold an allow-listed server (127.0.0.2) and a
"secret" one that must never be reached (127.0.0.1), even on the same port. Each server answers from a table
of routes (a text-classification answer by default, so a custom endpoint works) and records what it received.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from tests.fakes.quiet import QuietHandler

CLASSIFICATION = (200, {"content-type": "application/json"},
                  json.dumps([[{"label": "POSITIVE", "score": 0.9}]]).encode())


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class Loopback:
    """``routes[path] = (status, headers, body)``; any other path gets ``CLASSIFICATION``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.received: list[Seen] = []
        server = self

        class Handler(QuietHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                server.received.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers, body = server.routes.get(self.path.split("?")[0], CLASSIFICATION)
                self.send_response(status)
                for key, value in {"content-length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = (status, {"location": location}, b"")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def pair_on_one_port(first: str, second: str) -> tuple[Loopback, Loopback]:
    """Two servers on the same port of two loopback addresses (a rebinding test needs one URL for both)."""
    for _ in range(20):
        a = Loopback(first)
        try:
            return a, Loopback(second, a.port)
        except OSError:  # that port is taken on the second address: try another
            a.close()
    raise RuntimeError("no port free on both addresses")
