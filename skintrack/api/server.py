"""``skintrack api``: serve the REST API with uvicorn (on localhost unless told otherwise).

Several worker processes (``--workers``) and several servers may share one
PostgreSQL database and one photo folder (see the README, "Several app
servers"); each process opens its own :class:`~skintrack.records.Records`.
"""

from __future__ import annotations

import ipaddress
import os

__all__ = ["app_from_environment", "default_measuring_slots", "is_loopback", "serve"]


def app_from_environment():
    """The app over ``Records()`` of ``$SKINTRACK_DATA`` / ``$SKINTRACK_DB_URL`` (uvicorn's factory, per worker)."""
    from .app import create_app

    return create_app()


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_measuring_slots(workers: int, cpus: int | None = None) -> int:
    """Photos each of ``workers`` processes measures at once so that together they use each CPU once."""
    return max(1, (cpus or os.cpu_count() or 1) // max(1, workers))


def serve(*, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, log_level: str = "info",
          forwarded_allow_ips: str = "127.0.0.1") -> None:  # fmt: skip
    """Run uvicorn in this process until it is stopped (Ctrl-C, SIGTERM).

    The records come from the environment (``SKINTRACK_DATA``, ``SKINTRACK_DB_URL``, ``SKINTRACK_KEY``,
    ``SKINTRACK_FHIR_NAMES``): set them before calling. ``X-Forwarded-*`` headers are trusted only
    from ``forwarded_allow_ips`` (the reverse proxy on this machine).
    """
    import uvicorn

    os.environ.setdefault("SKINTRACK_DATA", os.path.abspath("skintrack-data"))
    # The worker processes share this machine's CPUs: each measuring one photo per CPU, N workers measured N
    # photos per CPU at once, each upload slowed by the ones after it and memory multiplied (README, "Load").
    # Several servers on one machine cannot see each other: their operator sets $SKINTRACK_API_MEASURING.
    os.environ.setdefault("SKINTRACK_API_MEASURING", str(default_measuring_slots(workers)))
    uvicorn.run(
        "skintrack.api.server:app_from_environment", factory=True, host=host, port=port, workers=workers,
        log_level=log_level, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips, server_header=False,
        timeout_graceful_shutdown=30,
    )  # fmt: skip
