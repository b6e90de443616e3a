"""What the fake servers' request handlers share: a client that hangs up mid-answer is normal, not an error.

A stream the caller stopped, a cancelled run, a pooled connection the client closed: the fake is still writing
(BrokenPipeError) or reading (ConnectionResetError) when the other end goes. ``socketserver`` would print each one
as a traceback ("Exception occurred during processing of request"), noise that buries real failures. Only those
are quiet: any other exception of a handler still reaches ``socketserver``'s ``handle_error``, which prints it.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

__all__ = ["CLIENT_GONE", "QuietHandler"]

CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class QuietHandler(BaseHTTPRequestHandler):
    """An HTTP request handler with no access log, for which a client that hung up ends the connection quietly."""

    def handle(self) -> None:
        try:
            super().handle()
        except CLIENT_GONE:  # the client went away: nothing more to answer, and nothing went wrong here
            self.close_connection = True

    def log_message(self, *args) -> None:  # no access log (errors are raised, not logged)
        pass
