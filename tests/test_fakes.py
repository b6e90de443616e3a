"""The fake servers themselves (``tests/fakes``): a client that hangs up mid-answer is quiet, a real error is not."""

from __future__ import annotations

import socket
import time

from tests.fakes.loopback import Loopback


def _stream(pieces: int, fail: bool = False):
    """A streamed body: ``pieces`` chunks 20 ms apart, then (``fail``) an error of the fake's own."""
    for _ in range(pieces):
        yield b"data: {}\n\n"
        time.sleep(0.02)
    if fail:
        raise RuntimeError("the fake's own failure")


def _ask(url: str, path: str, read_all: bool) -> bytes:
    """A raw HTTP/1.1 request; reads the first bytes of the answer and hangs up, or reads until the server closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n".encode())
        got = conn.recv(4096)
        while read_all and (more := conn.recv(4096)):
            got += more
        if not read_all:  # an abrupt close (RST), as a cancelled client's
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    return got


def _answered(fake) -> None:
    """Wait until the fake has stopped answering (its router calls in flight back to none), and a little more."""
    end = time.monotonic() + 10
    while fake.state.in_flight and time.monotonic() < end:
        time.sleep(0.02)
    time.sleep(0.3)


def test_a_client_that_hangs_up_mid_answer_is_quiet_but_a_real_error_still_shows(fake, capfd):
    fake.script("/hang-up", [(200, {"content-type": "text/event-stream"}, _stream(200))])
    assert _ask(fake.url, "/hang-up", read_all=False).startswith(b"HTTP/1.1 200")
    _answered(fake)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err and "BrokenPipeError" not in err, err

    fake.script("/fails", [(200, {"content-type": "text/event-stream"}, _stream(2, fail=True))])
    _ask(fake.url, "/fails", read_all=True)
    _answered(fake)
    err = capfd.readouterr().err
    assert "RuntimeError: the fake's own failure" in err and "Traceback" in err


def test_the_loopback_servers_are_quiet_when_a_client_hangs_up(capfd):
    with Loopback() as server:
        server.routes["/big"] = (200, {"content-type": "application/octet-stream"}, b"x" * 8_000_000)
        assert _ask(server.url, "/big", read_all=False).startswith(b"HTTP/1.0 200")
        time.sleep(0.5)  # its handler's write fails once the client is gone
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err and "BrokenPipeError" not in err, err
