"""Production HTTP serving: a WSGI app factory for gunicorn, and graceful draining.

    gunicorn 'bot.wsgi:create_app()' --workers 4 --worker-class gthread \\
        --threads 4 --bind 127.0.0.1:3000 --graceful-timeout 30

or ``ltv-bot serve --workers 4``, which runs the same thing. Each worker
builds its own runtime (Redis client, Bolt app, scheduler). The scheduler
starts in every worker when LTV_SCHEDULER_ENABLED is true; the per-tenant
Redis lock in strategies/scheduling.py makes each run happen once.

On SIGTERM a worker stops taking requests, lets the ones in flight finish
(their Redis writes included), waits for a running strategy job to finish its
sends and release its lock, then closes its Redis connections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot import http as bot_http
from bot.composition import Runtime, build_runtime
from bot.settings import Settings

logger = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_S = 30
THREADS_PER_WORKER = 4

WsgiApp = Callable[..., Iterable[bytes]]


class DrainingApp:
    """Counts requests in flight; once draining, new ones get 503 so Slack retries."""

    def __init__(self, inner: WsgiApp) -> None:
        self.inner = inner
        self._lock = threading.Condition()
        self._in_flight = 0
        self._draining = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            if self._draining:
                return _unavailable(start_response)
            self._in_flight += 1
        try:
            # Bolt answers with a list, so the whole response is made here.
            return list(self.inner(environ, start_response))
        finally:
            with self._lock:
                self._in_flight -= 1
                self._lock.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def drain(self, timeout_s: float = GRACEFUL_TIMEOUT_S) -> bool:
        """Refuse new requests and wait for those in flight; True if all finished."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._draining = True
            while self._in_flight and time.monotonic() < deadline:
                self._lock.wait(timeout=max(deadline - time.monotonic(), 0.01))
            left = self._in_flight
        if left:
            logger.warning("drain timed out requests_in_flight=%s", left)
        return left == 0


def _unavailable(start_response: Any) -> list[bytes]:
    start_response(
        "503 Service Unavailable",
        [("Content-Type", "text/plain"), ("Retry-After", "1")],
    )
    return [b"shutting down"]


class ServedApp(DrainingApp):
    """The WSGI app of one worker, owning the runtime it closes on shutdown."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            bot_http.wsgi_app(runtime.app, runtime.store, runtime.signing_secret)
        )
        self.runtime = runtime

    def shutdown(self, timeout_s: float = GRACEFUL_TIMEOUT_S) -> None:
        self.drain(timeout_s)
        self.runtime.close()
        logger.info("worker stopped cleanly")


def create_app(settings: Settings | None = None) -> ServedApp:
    """The factory gunicorn calls in each worker: `bot.wsgi:create_app()`."""
    from bot.cli import configure_logging, load_settings

    settings = settings or load_settings()
    configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    if settings.scheduler_enabled:
        runtime.start_scheduler()
    logger.info("worker ready scheduler=%s", settings.scheduler_enabled)
    return ServedApp(runtime)


def serve_with_gunicorn(settings: Settings, workers: int) -> int:
    """`ltv-bot serve --workers N`: gunicorn with N gthread workers, in-process."""
    from gunicorn.app.base import BaseApplication

    class LtvGunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings, workers).items():
                self.cfg.set(key, value)

        def load(self) -> ServedApp:
            return create_app(settings)

    LtvGunicorn().run()
    return 0


def gunicorn_options(settings: Settings, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "timeout": 60,
        "accesslog": None,
        "worker_exit": _worker_exit,
    }


def _worker_exit(server: Any, worker: Any) -> None:
    """gunicorn's hook: the worker has stopped accepting; finish and close."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, ServedApp):
        app.shutdown()


# Settings gunicorn reads when started as `gunicorn -c python:bot.wsgi ...`
# (it reads every module attribute named like one of its settings, so no
# other name here may be one, e.g. wsgi_app).
worker_class = "gthread"
threads = THREADS_PER_WORKER
graceful_timeout = GRACEFUL_TIMEOUT_S
worker_exit = _worker_exit
