"""Public mode's network rule: what a visitor makes the server fetch may only reach public addresses.

On a public deployment anyone with the link chooses URLs that the server then requests: a custom endpoint,
a model given as a URL, an image or audio URL. Without a rule, a visitor points them at a service on the
host's loopback, its private network or the cloud metadata service, and reads the answer in the raw
exchange. The rule, applied to every connection opened for such a request:

- the scheme is http or https;
- the host name is resolved once, every address it resolves to must be public, and the connection goes to
  an address that was checked (a second DNS answer cannot change it: no rebinding between check and connect);
- a redirect is a new request: its host is checked the same way.

Refused (``address_class`` names the rule): loopback, unspecified, private (RFC 1918, ULA, site-local),
link-local, cloud metadata (169.254.169.254, fd00:ec2::254, metadata.google.internal), carrier-grade NAT,
multicast and every other non-global address, and the IPv6 forms that embed one of these (IPv4-mapped,
IPv4-compatible, NAT64, 6to4), unless the host's allow-list (``AllowList``, from ``PLAYGROUND_ALLOW_HOSTS``)
names the host or a network holding the address.

Where the check sits: in the network backend of the connection pool (``connect_tcp``), the one place every
new TCP connection passes, whatever built the request and however many redirects led there. A pooled
connection is reused only for its own origin (scheme, host, port), and was checked when it was opened.

Two kinds of request skip the check, through a pool apart from the checked one (so no connection is ever
shared with a checked request): the Hub and its router (``HF_HOSTS``: public, yet resolved to private addresses from
inside a Space by split DNS, which is why Gradio trusts them by name too), and the app's own local backend,
only while the app itself calls it (``own_server``): a visitor's custom endpoint at the same address is
checked, and refused.

Two transports apply the rule: ``GuardedTransport`` for huggingface_hub's shared ``httpx2`` client
(custom endpoints, models given as URLs; it also refuses any request carrying the host's own token, the
last line of "tokens come from each visitor"), ``GradioDownloads`` for the ``httpx`` downloads Gradio makes of
image and audio URLs (``gradio.processing_utils.async_transport``), which it also limits in size.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlsplit

import anyio
import httpcore
import httpcore2
import httpx
import httpx2
from huggingface_hub import constants

from .errors import InputError

__all__ = [
    "ALLOW_ENV",
    "HF_HOSTS",
    "AllowList",
    "Rule",
    "GuardedTransport",
    "GradioDownloads",
    "address_class",
    "resolve",
    "own_server",
]

ALLOW_ENV = "PLAYGROUND_ALLOW_HOSTS"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The Hub, its CDN and the inference router: public hosts, trusted by name (Gradio trusts the same names).
HF_HOSTS = tuple(dict.fromkeys((
    "hf.co", "*.hf.co", "huggingface.co", "*.huggingface.co",
    (urlsplit(constants.ENDPOINT).hostname or "huggingface.co"),
    (urlsplit(constants.INFERENCE_PROXY_TEMPLATE).hostname or "router.huggingface.co"),
)))
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})

# Checked in this order: the first class holding the address names the rule.
_CLASSES: tuple[tuple[str, tuple[IPNetwork, ...]], ...] = tuple(
    (name, tuple(ipaddress.ip_network(n) for n in networks)) for name, networks in (
        ("cloud metadata", ("169.254.169.254/32", "169.254.170.2/32", "fd00:ec2::254/128")),
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")),
        ("link-local", ("169.254.0.0/16", "fe80::/10")),
        ("carrier-grade NAT", ("100.64.0.0/10",)),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_HOST_NAME = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}$")


def _embedded_ipv4(ip: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, and how: IPv4-mapped, IPv4-compatible, NAT64, 6to4."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # ::a.b.c.d (not :: nor ::1)
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip))
    return None


def address_class(address: str | IPAddress) -> str | None:
    """The rule refusing this address ("loopback address", "private address in its IPv4-mapped IPv6 form",
    ...), or None for a public address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 6 and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        form, inner = embedded
        refused = address_class(inner)
        return f"{refused} in its {form} IPv6 form" if refused else None
    for name, networks in _CLASSES:
        if any(ip in network for network in networks):
            return f"{name} address"
    return None if ip.is_global else "reserved address (not public)"


def _a(phrase: str) -> str:
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order (tests replace this function)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _refused(title: str, detail: str = "") -> InputError:
    return InputError(
        f"Refused in public mode: {title}",
        (f"{detail} " if detail else "")
        + "On a public deployment, custom endpoints and image or audio URLs may only reach public internet "
        "addresses over http or https, checked after DNS resolution and on every redirect: loopback, private, "
        "link-local, cloud metadata, carrier-grade NAT, multicast and reserved addresses are refused.",
        f"Use a public URL. If you run this deployment and trust that host, name it in {ALLOW_ENV} "
        f"(comma-separated hosts or networks, e.g. {ALLOW_ENV}=gpu-box.internal,10.0.0.0/8) and restart the app.",
    )


def refuse_scheme(url: str, scheme: str) -> InputError:
    return _refused(f"{url} is not an http or https URL", f"Its scheme is '{scheme}'.")


@dataclass(frozen=True)
class AllowList:
    """What the host lets visitors reach although it is not public: host names (``*.corp.example`` for a
    domain) and networks (``10.0.0.0/8``, ``192.168.1.5``, ``fd00::/8``)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """``PLAYGROUND_ALLOW_HOSTS``'s value; a ValueError names an entry that is neither a host nor a network."""
        hosts, networks = set(), []
        for item in (text or "").replace(";", ",").split(","):
            item = item.strip().lower().rstrip(".")
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.match(item):
                raise ValueError(f"{ALLOW_ENV}: '{item}' is neither a host name nor a network (like 10.0.0.0/8).")
            hosts.add(item)
        return cls(frozenset(hosts), tuple(networks))

    def names(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or (h.startswith("*.") and (host == h[2:] or host.endswith(h[1:]))) for h in self.hosts)

    def holds(self, address: str) -> bool:
        ip = _ip(address.split("%", 1)[0])
        return ip is not None and any(ip.version == n.version and ip in n for n in self.networks)


@dataclass(frozen=True)
class Rule:
    """The public-mode rule: the allow-list, and the host's own token, which no request may carry."""

    allow: AllowList = field(default_factory=AllowList)
    host_token: str | None = field(default=None, repr=False)

    def trusts(self, host: str) -> bool:
        """The Hub and the router: reached by name, without an address check."""
        return _HF.names(host)

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host`` may use: resolved once, each one checked."""
        name = host.lower().strip("[]").rstrip(".")
        if self.allow.names(name):
            return _resolve(host, port)
        if name in METADATA_NAMES:
            raise _refused(f"{host} is the cloud metadata service")
        literal = _ip(name)
        addresses = [str(literal)] if literal is not None else _resolve(host, port)
        for address in addresses:
            refused = address_class(address)
            if refused and not self.allow.holds(address):
                where = f"{host} is {_a(refused)}" if literal is not None else \
                    f"{host} resolves to {address}, {_a(refused)}"
                raise _refused(where)
        return addresses

    def check_secrets(self, headers) -> None:
        """The host's own token never leaves the server, whoever asks (even a visitor who pasted it)."""
        token = self.host_token
        if token and any(token in value for value in headers.values()):
            raise InputError(
                "Refused in public mode: this request would carry the host's own token",
                "The token of the machine running the app (HF_TOKEN or `hf auth login`) is never sent on a "
                "public deployment.",
                "Paste a token of your own in the Token box (not the one this deployment's host uses).",
            )


_HF = AllowList(frozenset(HF_HOSTS))


def _resolve(host: str, port: int) -> list[str]:
    try:
        addresses = resolve(host.strip("[]"), port)
    except OSError as err:  # as the pool reports a failed connection (translated as a network error)
        raise httpcore2.ConnectError(f"Cannot resolve {host}: {err}") from err
    if not addresses:
        raise httpcore2.ConnectError(f"Cannot resolve {host}: no address")
    return addresses


# --------------------------------------------------------------------------- the app's own server

_own: contextvars.ContextVar[tuple[str, str, int] | None] = contextvars.ContextVar("playground_own_server",
                                                                                  default=None)


def _origin(url: str | httpx2.URL | httpx.URL) -> tuple[str, str, int]:
    url = httpx2.URL(str(url))
    return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)


@contextmanager
def own_server(base_url: str | None) -> Iterator[None]:
    """Requests made inside this block to ``base_url`` (the local backend's origin) are the app's own calls:
    they skip the address check. Anything else, redirects included, is checked as usual."""
    previous = _own.get()
    _own.set(_origin(base_url) if base_url else previous)
    try:
        yield
    finally:
        _own.set(previous)  # ``set``, not ``reset``: a stream may finish in another context


# --------------------------------------------------------------------------- httpx2 (huggingface_hub)


class _CheckedBackend(httpcore2.NetworkBackend):
    """httpcore2's socket backend, opening a connection only to addresses the rule checked."""

    def __init__(self, rule: Rule) -> None:
        self._rule, self._inner = rule, httpcore2.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error: Exception | None = None
        for address in self._rule.addresses(host, port):  # an IP literal: no second DNS answer
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as err:
                error = err
        raise error  # type: ignore[misc]

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise _refused("a Unix socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _CheckedTransport(httpx2.HTTPTransport):
    """httpx2's own transport, its pool opening every connection through the checked backend."""

    def __init__(self, rule: Rule) -> None:
        super().__init__()
        self._pool = httpcore2.ConnectionPool(  # httpx2 takes no network backend: its pool is replaced
            ssl_context=httpx2.create_ssl_context(), max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=5.0, network_backend=_CheckedBackend(rule),
        )


class GuardedTransport(httpx2.BaseTransport):
    """The shared client's transport in public mode. The Hub and the app's own local backend go to ``inner``
    (the test router, or a plain transport); every other request goes through the checked pool."""

    def __init__(self, rule: Rule, inner: httpx2.BaseTransport | None = None) -> None:
        self.rule = rule
        self._trusted = inner if inner is not None else httpx2.HTTPTransport()
        self._checked = _CheckedTransport(rule)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise refuse_scheme(str(url), url.scheme)
        self.rule.check_secrets(request.headers)
        trusted = self.rule.trusts(url.host) or _own.get() == _origin(url)
        response = (self._trusted if trusted else self._checked).handle_request(request)
        location = response.headers.get("location") if response.is_redirect else None
        if location:
            target = url.join(location)
            if target.scheme not in ("http", "https"):
                response.close()
                raise refuse_scheme(location, target.scheme)
        return response

    def close(self) -> None:
        self._checked.close()
        self._trusted.close()


# --------------------------------------------------------------------------- httpx (Gradio's downloads)


class _AsyncCheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, rule: Rule) -> None:
        self._rule, self._inner = rule, httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = await anyio.to_thread.run_sync(self._rule.addresses, host, port)
        except httpcore2.ConnectError as err:
            raise httpcore.ConnectError(str(err)) from err
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                error = err
        raise error  # type: ignore[misc]

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise _refused("a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _AsyncCheckedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, rule: Rule) -> None:
        super().__init__()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=5.0, network_backend=_AsyncCheckedBackend(rule),
        )


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, url: str, limit: int) -> None:
        self._inner, self._url, self._limit = inner, url, limit

    async def __aiter__(self):
        size = 0
        async for chunk in self._inner:
            size += len(chunk)
            if size > self._limit:
                raise _too_large(self._url, self._limit)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _too_large(url: str, limit: int):
    import gradio as gr

    return gr.Error(f"Refused in public mode: {url} is larger than {limit / 1e6:.0f} MB, the limit for a file "
                    "on this deployment. Use a smaller file.", title="File too large")


class GradioDownloads(httpx.AsyncBaseTransport):
    """The transport of Gradio's image and audio URL downloads in public mode (set as
    ``gradio.processing_utils.async_transport``; Gradio then checks no address itself, and follows each
    redirect as a new request through here). Refusals become ``gr.Error`` so that the page shows them.

    Gradio closes the transport after each download: closing is a no-op, the pools live with the process."""

    def __init__(self, rule: Rule, max_bytes: int | None = None) -> None:
        self.rule, self.max_bytes = rule, max_bytes
        self._trusted = httpx.AsyncHTTPTransport()
        self._checked = _AsyncCheckedTransport(rule)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import gradio as gr

        url = request.url
        try:
            if url.scheme not in ("http", "https"):
                raise refuse_scheme(str(url), url.scheme)
            transport = self._trusted if self.rule.trusts(url.host) else self._checked
            response = await transport.handle_async_request(request)
        except InputError as err:
            raise gr.Error(f"{err.title}. {err.fix}", title="URL refused") from None
        if self.max_bytes is not None:
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                await response.aclose()
                raise _too_large(str(url), self.max_bytes)
            response.stream = _CappedStream(response.stream, str(url), self.max_bytes)
        return response

    async def aclose(self) -> None:
        """Gradio closes its client after each download; the pools are shared, so they stay open."""
