"""HTTP mode: a WSGI app for Slack's requests plus a health check.

``wsgi_app`` is what a production server (gunicorn, uwsgi) runs; ``serve_http``
is a small threaded server for local use, the demo and the tests.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.metrics import METRICS, SendLogCounter
from ltv.store import REDIS_ERRORS, LtvStore

logger = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"


def wsgi_app(app: App, store: LtvStore) -> Callable[..., Iterable[bytes]]:
    """Slack requests at /slack/events; GET /healthz says whether Redis answers;
    GET /metrics serves the counters in Prometheus's text format."""
    slack = SlackRequestHandler(app, path=SLACK_PATH)
    send_log = SendLogCounter(store.redis, store.tenants, METRICS)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return health(store, start_response)
        if environ.get("PATH_INFO") == "/metrics":
            return metrics(send_log, start_response)
        return slack(environ, start_response)

    return application


def health(store: LtvStore, start_response: Any) -> Iterable[bytes]:
    healthy = store.ping()
    body = json.dumps({"ok": healthy, "redis": "up" if healthy else "down"}).encode()
    status = "200 OK" if healthy else "503 Service Unavailable"
    start_response(status, [("Content-Type", "application/json")])
    return [body]


def metrics(send_log: SendLogCounter, start_response: Any) -> Iterable[bytes]:
    try:
        send_log.refresh()
    except REDIS_ERRORS as exc:
        logger.warning("metrics: send log unreadable error=%s", type(exc).__name__)
        METRICS.inc("ltv_errors_total", kind="redis_unavailable")
    content_type = "text/plain; version=0.0.4; charset=utf-8"
    start_response("200 OK", [("Content-Type", content_type)])
    return [METRICS.render().encode()]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    """Request lines go to the logger at DEBUG, not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http %s", format % args)


class HttpServer:
    """The development server in a background thread; stop() shuts it down."""

    def __init__(
        self, application: Callable[..., Iterable[bytes]], host: str, port: int
    ):
        self._server = make_server(
            host,
            port,
            application,
            server_class=ThreadingWSGIServer,
            handler_class=QuietHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
