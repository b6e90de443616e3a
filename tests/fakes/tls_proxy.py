"""An HTTPS proxy in front of the fake server, so that code written for the real hosts runs against it unchanged.

The code snippets name the real URLs (``https://router.huggingface.co/...``) and are run as they are shown. Every
client they use reaches a proxy named by the environment, as it would behind a company proxy:

    HTTPS_PROXY=http://127.0.0.1:<port>        Python (httpx, requests), curl, Node (through ``tests/js/env-proxy.mjs``)
    SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS = the test CA

The proxy answers ``CONNECT host:443``, completes TLS with a certificate the test CA signed for the Hub's, the
router's and fal's file hosts, and hands the decrypted connection to the fake server's own request handler, which
records the request (``FakeHF.received``) exactly as it records the playground's. The handler is told the host the
client asked for (``x-fake-host``, as ``RoutingTransport`` does in process), so both paths are recorded alike.

The certificates are made with the ``openssl`` command (Debian's ``openssl`` package), once per test session.
"""

from __future__ import annotations

import socketserver
import ssl
import subprocess
import threading
from pathlib import Path

from tests.fakes import answers
from tests.fakes.server import HUB_HOSTS, ROUTER_HOSTS, FakeHF

__all__ = ["TLSProxy", "make_certificates", "HOSTS"]

HOSTS = (*HUB_HOSTS, *ROUTER_HOSTS, *answers.FILE_HOSTS)


def make_certificates(folder: Path, hosts: tuple[str, ...] = HOSTS) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate it signed for ``hosts``: (ca.pem, server.pem, server.key)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr, ext = folder / "server.pem", folder / "server.key", folder / "server.csr", folder / "server.ext"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=Playground test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={hosts[0]}")
    ext.write_text(f"subjectAltName={','.join(f'DNS:{h}' for h in hosts)}\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", ext)
    return ca, cert, key


class TLSProxy:
    """``HTTPS_PROXY`` for the fake server: CONNECT to any of ``HOSTS`` ends at ``fake``'s request handler."""

    def __init__(self, fake: FakeHF, folder: Path) -> None:
        self.ca, cert, key = make_certificates(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.set_alpn_protocols(["http/1.1"])  # the fake speaks HTTP/1.1 (curl would otherwise ask for h2)
        fake_handler = fake.httpd.RequestHandlerClass
        fake_server = fake.httpd

        class Tunnel(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    self.tunnel()
                except OSError:
                    pass  # the client went away (a pooled connection closed, a reset): nothing to answer

            def tunnel(self) -> None:
                line = self.rfile.readline(65537).decode("latin-1")
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # the CONNECT request's headers
                method, target, *_ = line.split() or ("", "")
                host = target.rsplit(":", 1)[0]
                if method != "CONNECT" or host not in HOSTS:
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                    return
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                tls = context.wrap_socket(self.connection, server_side=True)

                class AsAsked(fake_handler):  # the fake's handler, told the host the client asked for
                    def parse_request(self) -> bool:
                        ok = super().parse_request()
                        if ok:
                            self.headers["x-fake-host"] = host
                        return ok

                try:
                    AsAsked(tls, self.client_address, fake_server)
                finally:
                    tls.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Tunnel)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def environment(self, js_preload: Path | None = None) -> dict[str, str]:
        """The variables that send a client's HTTPS requests through the proxy and make it trust the test CA."""
        env = {
            "HTTPS_PROXY": self.url, "https_proxy": self.url,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "SSL_CERT_FILE": str(self.ca), "REQUESTS_CA_BUNDLE": str(self.ca), "CURL_CA_BUNDLE": str(self.ca),
            "NODE_EXTRA_CA_CERTS": str(self.ca),
        }
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            env[name] = ""
        if js_preload is not None:
            env["NODE_OPTIONS"] = f"--import={js_preload.resolve().as_uri()}"
        return env

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

