"""Onboarding: welcome each new customer once, by direct message."""

from __future__ import annotations

import logging
from typing import Any

import redis

from ltv.keys import TenantKeys
from strategies.delivery import Outcome, RunReport, SendLedger
from strategies.messenger import Messenger, SendError

logger = logging.getLogger(__name__)

STRATEGY = "onboarding"
WELCOME_STEP = "welcome"
BATCH_SIZE = 200

WELCOME_TEXT = (
    "Welcome aboard, <@{user}>! :wave: We're glad you're here. "
    "Ask us anything in this chat; a real person from the team will answer."
)


def welcome_blocks(user: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": WELCOME_TEXT.format(user=user)},
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Reply *stop* at any time and we won't message you again.",
                }
            ],
        },
    ]


class OnboardingStrategy:
    """Sends the welcome to every customer waiting in the onboarding queue."""

    name = STRATEGY

    def __init__(
        self, client: redis.Redis, *, ledger: SendLedger, messenger: Messenger
    ) -> None:
        self.redis = client
        self.ledger = ledger
        self.messenger = messenger

    def run(self, tenant: str, *, dry_run: bool = False) -> RunReport:
        report = RunReport(strategy=STRATEGY, tenant=tenant)
        for user in self._pending_users(tenant):
            self._welcome(tenant, user, report, dry_run=dry_run)
        logger.info(
            "strategy run strategy=%s tenant=%s dry_run=%s %s",
            STRATEGY,
            tenant,
            dry_run,
            report.summary(),
        )
        return report

    def _pending_users(self, tenant: str) -> list[str]:
        """A snapshot of the queue; newcomers during the run wait for the next one."""
        pending_key = TenantKeys(tenant).pending(STRATEGY)
        users: list[str] = []
        while batch := self.redis.zrange(
            pending_key, len(users), len(users) + BATCH_SIZE - 1
        ):
            users.extend(raw.decode() for raw in batch)
        return users

    def _welcome(
        self, tenant: str, user: str, report: RunReport, *, dry_run: bool
    ) -> None:
        slot = self.ledger.slot(WELCOME_STEP, user, "once")
        if dry_run:
            claimed = self.ledger.is_claimed(tenant, STRATEGY, slot)
            report.add(Outcome.SKIPPED, "already_sent") if claimed else report.add(
                Outcome.WOULD_SEND
            )
            return
        if not self.ledger.claim(tenant, STRATEGY, slot):
            report.add(Outcome.SKIPPED, "already_sent")
            self._dequeue(tenant, user)
            return
        self._deliver(tenant, user, slot, report)

    def _deliver(self, tenant: str, user: str, slot: str, report: RunReport) -> None:
        try:
            self.messenger.send_direct_message(
                tenant,
                user,
                text=WELCOME_TEXT.format(user=user),
                blocks=welcome_blocks(user),
            )
        except SendError as exc:
            self._settle_failure(tenant, user, slot, exc, report)
            return
        self.ledger.record(tenant, STRATEGY, slot, Outcome.SENT)
        report.add(Outcome.SENT)
        self._dequeue(tenant, user)

    def _settle_failure(
        self, tenant: str, user: str, slot: str, exc: SendError, report: RunReport
    ) -> None:
        logger.warning(
            "send failed strategy=%s tenant=%s user=%s error=%s retryable=%s",
            STRATEGY,
            tenant,
            user,
            exc.code,
            exc.retryable,
        )
        report.add(Outcome.FAILED, exc.code)
        if exc.retryable:
            self.ledger.release(tenant, STRATEGY, slot)
            self.ledger.record(tenant, STRATEGY, slot, Outcome.SKIPPED, "retry_later")
            return
        self.ledger.record(tenant, STRATEGY, slot, Outcome.FAILED, exc.code)
        self._dequeue(tenant, user)

    def _dequeue(self, tenant: str, user: str) -> None:
        self.redis.zrem(TenantKeys(tenant).pending(STRATEGY), user)
