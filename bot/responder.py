"""Slack's 3-second rule for commands: answer at once, or promise and follow up.

A command's work runs in a worker thread. If it finishes within the budget,
its reply is the acknowledgement itself; otherwise the acknowledgement says
the answer is on its way and the reply is posted to the command's
response_url when the work ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_sdk.webhook import WebhookClient

from bot.blockkit import message_problems
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

REPLY_BUDGET_S = 2.5
WORKING = "Working on it… the answer will appear here in a moment."
FAILED = "Sorry, something went wrong on our side. Please try again."
Reply = dict[str, Any]


def checked(reply: Reply) -> Reply:
    """The reply if Slack would accept its blocks; else its text alone, logged."""
    problems = message_problems(reply)
    if not problems:
        return reply
    logger.error("reply blocks refused problems=%s", problems[:3])
    METRICS.inc("ltv_errors_total", kind="invalid_blocks")
    return {k: v for k, v in reply.items() if k != "blocks"}


class DeferredReplies:
    """Runs command work against the budget; late replies go to response_url."""

    def __init__(self, *, budget_s: float = REPLY_BUDGET_S, workers: int = 8) -> None:
        self.budget_s = budget_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cmd")
        self._pending = 0
        self._idle = threading.Condition()

    def answer(self, work: Callable[[], Reply], response_url: str) -> Reply:
        """The acknowledgement body: the reply itself, or a promise of it."""
        future = self._pool.submit(work)
        try:
            return checked(future.result(timeout=self.budget_s))
        except FutureTimeout:
            with self._idle:
                self._pending += 1
            future.add_done_callback(lambda f: self._follow_up(f, response_url))
            return {"response_type": "ephemeral", "text": WORKING}

    def _follow_up(self, future: Future[Reply], response_url: str) -> None:
        try:
            reply = checked(future.result())
        except Exception as exc:  # the boundary of a detached thread: log, answer
            logger.error("late command failed: %s", type(exc).__name__, exc_info=exc)
            METRICS.inc("ltv_errors_total", kind=type(exc).__name__)
            reply = {"response_type": "ephemeral", "text": FAILED}
        try:
            WebhookClient(response_url, timeout=10).send_dict(
                {**reply, "replace_original": True}
            )
        except OSError as exc:
            logger.warning("response_url post failed error=%s", type(exc).__name__)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """For tests and shutdown: True once every late reply has been posted."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
