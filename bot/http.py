"""HTTP mode: a WSGI app for Slack's requests plus a health check.

``wsgi_app`` is what a production server (gunicorn, uwsgi) runs; ``serve_http``
is a small threaded server for local use, the demo and the tests.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from bot.metrics import METRICS, SendLogCounter
from bot.payload_shape import payload_problem
from ltv.store import REDIS_ERRORS, LtvStore

logger = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
SLACK_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
SLACK_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


def wsgi_app(
    app: App, store: LtvStore, signing_secret: SecretStr | str
) -> Callable[..., Iterable[bytes]]:
    """Slack requests at /slack/events; GET /healthz says whether Redis answers;
    GET /metrics serves the counters in Prometheus's text format.

    Signed payloads whose fields have the wrong types, and bodies that are not
    UTF-8 (Slack's SDK cannot even verify those), are refused with a 400 before
    Bolt reads them (see bot.payload_shape).
    """
    slack = SlackRequestHandler(app, path=SLACK_PATH)
    send_log = SendLogCounter(store.redis, store.tenants, METRICS)
    if isinstance(signing_secret, SecretStr):
        signing_secret = signing_secret.get_secret_value()
    verifier = SignatureVerifier(signing_secret)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return health(store, start_response)
        if environ.get("PATH_INFO") == "/metrics":
            return metrics(send_log, start_response)
        if not has_wellformed_signature(environ):
            return refuse_unsigned(environ, start_response)
        body = read_body(environ)
        if not is_utf8(body):
            return refuse_malformed("the body is not UTF-8", start_response)
        problem = signed_payload_problem(verifier, environ, body)
        if problem:
            return refuse_malformed(problem, start_response)
        return slack(environ, start_response)

    return application


def has_wellformed_signature(environ: dict[str, Any]) -> bool:
    """Slack's signature headers are of the shape Bolt's verifier can check.

    Bolt answers 401 to a wrong signature but fails with a 500 on a timestamp
    that is not a number or a signature with non-ASCII characters; such requests
    are refused here, before Bolt reads them.
    """
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    return bool(SLACK_TIMESTAMP.match(timestamp) and SLACK_SIGNATURE.match(signature))


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, put back so that Bolt can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def signed_payload_problem(
    verifier: SignatureVerifier, environ: dict[str, Any], body: bytes
) -> str | None:
    """What is wrong with the shape of a correctly signed payload, if anything.

    Unsigned requests are left to Bolt, which answers them 401.
    """
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not verifier.is_valid(body, timestamp, signature):
        return None
    try:
        payload = parse_body(body.decode("utf-8"), environ.get("CONTENT_TYPE"))
    except (UnicodeDecodeError, ValueError):
        return "the body is not UTF-8 JSON or a form"
    except RecursionError:
        return "the body is nested too deeply"
    return payload_problem(payload)


def refuse_malformed(problem: str, start_response: Any) -> Iterable[bytes]:
    logger.warning("signed request refused: %s", problem)
    start_response("400 Bad Request", [("Content-Type", "application/json")])
    return [json.dumps({"error": f"Malformed Slack payload: {problem}."}).encode()]


def refuse_unsigned(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    logger.info("request refused: missing or malformed slack signature headers")
    start_response("401 Unauthorized", [("Content-Type", "application/json")])
    return [b'{"error":"invalid request"}']


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
    # socketserver's default backlog of 5 resets connections in a burst of
    # Slack deliveries; the kernel caps this at net.core.somaxconn.
    request_queue_size = 128


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
