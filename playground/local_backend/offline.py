"""Let huggingface_hub's clients reach the local backend while HF_HUB_OFFLINE=1.

huggingface_hub blocks *every* request made through its shared HTTP session when offline mode is
on (``OfflineModeIsEnabled: Cannot reach http://127.0.0.1:...``), including requests to a loopback
inference server. ``allow_loopback_when_offline()`` installs a client factory whose request hook
lets loopback URLs through and keeps blocking everything else; it changes nothing when offline
mode is off. It is opt-in because it replaces huggingface_hub's process-wide client factory.
"""

from __future__ import annotations

from collections.abc import Callable

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _is_loopback(request) -> bool:
    host = (request.url.host or "").lower()
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def allow_loopback_when_offline() -> Callable[[], None]:
    """Install loopback-aware sync and async client factories; returns a function that undoes it."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    previous_sync = getattr(_http, "_GLOBAL_CLIENT_FACTORY", _http.default_client_factory)
    previous_async = getattr(_http, "_GLOBAL_ASYNC_CLIENT_FACTORY", _http.default_async_client_factory)
    if getattr(previous_sync, "_loopback_aware", False):
        return lambda: None

    def sync_hook(hook):
        def inner(request):
            if _is_loopback(request) and constants.is_offline_mode():
                return None
            return hook(request)

        return inner

    def async_hook(hook):
        async def inner(request):
            if _is_loopback(request) and constants.is_offline_mode():
                return None
            return await hook(request)

        return inner

    offline_hooks = {_http.hf_request_event_hook, getattr(_http, "async_hf_request_event_hook", None)}

    def patch(client, wrap):
        hooks = dict(client.event_hooks)
        hooks["request"] = [wrap(h) if h in offline_hooks else h for h in hooks.get("request", [])]
        client.event_hooks = hooks
        return client

    def sync_factory():
        return patch(previous_sync(), sync_hook)

    def async_factory():
        return patch(previous_async(), async_hook)

    sync_factory._loopback_aware = True  # type: ignore[attr-defined]
    async_factory._loopback_aware = True  # type: ignore[attr-defined]
    _http.set_client_factory(sync_factory)
    _http.set_async_client_factory(async_factory)

    def undo() -> None:
        _http.set_client_factory(previous_sync)
        _http.set_async_client_factory(previous_async)

    return undo
