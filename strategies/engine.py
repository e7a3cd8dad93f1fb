"""The delivery engine: every candidate through the same guard rails, then Slack.

Order of the checks, cheapest and most final first: opted out, already sent,
in an open conversation with an agent, quiet hours (the candidate waits for the
next run), then the atomic claim that also enforces the frequency cap.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ltv.clock import Clock
from strategies.delivery import (
    Claim,
    ClaimStatus,
    Outcome,
    Preview,
    RunReport,
    SendLedger,
)
from strategies.facts import CustomerFacts
from strategies.guards import Conversations, OptOuts, Profiles, quiet_until, zone_or_utc
from strategies.messenger import Messenger, SendError

logger = logging.getLogger(__name__)

PER_CHANNEL_INTERVAL_S = 1.0
MAX_BACKOFF_S = 30.0
HISTORY_SLACK_S = 120
CLAIM_SKIP_REASONS = {
    ClaimStatus.CAPPED: "capped",
    ClaimStatus.BUSY: "in_progress",
}


MENTION = re.compile(r"^<[@#][A-Z0-9]{2,32}>$")


def escape(text: str) -> str:
    """Slack's three control characters, escaped for text we did not write."""
    if MENTION.match(text):
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class Candidate:
    """One message a strategy wants to send, before the guard rails decide."""

    user: str
    step: str
    period: str
    template: str
    facts: dict[str, str] = field(default_factory=dict)
    channel: str | None = None
    extra_blocks: list[dict[str, Any]] = field(default_factory=list)
    on_settled: Callable[[], None] | None = None
    on_sent: Callable[[], None] | None = None
    skip_reason: str | None = None

    @property
    def to_customer(self) -> bool:
        return self.channel is None


class Pacer:
    """Keeps posts to one channel at least a second apart, and backs off on 429."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sleep = sleep
        self.monotonic = monotonic
        self._last: dict[str, float] = {}

    def wait(self, channel: str) -> None:
        last = self._last.get(channel)
        if last is not None:
            gap = PER_CHANNEL_INTERVAL_S - (self.monotonic() - last)
            if gap > 0:
                self.sleep(gap)
        self._last[channel] = self.monotonic()

    def back_off(self, retry_after_s: float) -> None:
        self.sleep(min(max(retry_after_s, PER_CHANNEL_INTERVAL_S), MAX_BACKOFF_S))


@dataclass(frozen=True)
class _Attempt:
    """One candidate on its way through the engine, with where it is recorded."""

    tenant: str
    strategy: str
    cand: Candidate
    slot: str
    report: RunReport

    @property
    def key(self) -> str:
        return SendLedger.idempotency_key(self.strategy, self.slot)

    @property
    def cap_user(self) -> str:
        """The customer whose frequency cap this send counts against, if any."""
        return self.cand.user if self.cand.to_customer else ""

    @property
    def dm_user(self) -> str | None:
        return self.cand.user if self.cand.to_customer else None


class DeliveryEngine:
    """Applies the guard rails to a candidate and sends it at most once."""

    def __init__(
        self,
        *,
        clock: Clock,
        ledger: SendLedger,
        messenger: Messenger,
        optouts: OptOuts,
        conversations: Conversations,
        profiles: Profiles,
        pacer: Pacer | None = None,
        facts: CustomerFacts | None = None,
    ) -> None:
        self.clock = clock
        self.ledger = ledger
        self.messenger = messenger
        self.optouts = optouts
        self.conversations = conversations
        self.profiles = profiles
        self.pacer = pacer or Pacer()
        self.facts = facts

    def deliver(
        self,
        tenant: str,
        strategy: str,
        cand: Candidate,
        guards: dict[str, Any],
        report: RunReport,
        *,
        dry_run: bool = False,
    ) -> None:
        slot = self.ledger.slot(cand.step, cand.user, cand.period)
        attempt = _Attempt(tenant, strategy, cand, slot, report)
        reason = cand.skip_reason or self._skip_reason(attempt, guards)
        if reason == "already_sent" and not dry_run:
            self._after(cand)
        if reason is None and dry_run:
            reason = self._capped_reason(tenant, cand, guards)
        if reason is not None:
            self._skip(attempt, reason, log=not dry_run)
            return

        text, blocks = self.render(tenant, strategy, cand)
        if dry_run:
            report.add(Outcome.WOULD_SEND)
            report.previews.append(Preview(cand.user, cand.step, text))
            return
        claim = self._claim(attempt, guards)
        if claim is not None:
            self._send(attempt, claim, text, blocks)

    def _skip(self, attempt: _Attempt, reason: str, *, log: bool = True) -> None:
        attempt.report.add(Outcome.SKIPPED, reason)
        if log:
            self.ledger.log_skip(attempt.tenant, attempt.strategy, attempt.slot, reason)

    def _skip_reason(self, attempt: _Attempt, guards: dict) -> str | None:
        tenant, cand = attempt.tenant, attempt.cand
        state = self.ledger.state(tenant, attempt.strategy, attempt.slot)
        if state in ("sent", "failed"):
            return "already_sent"
        if not cand.to_customer:
            return None
        if self.optouts.is_opted_out(tenant, cand.user, attempt.strategy):
            return "opted_out"
        window_s = int(guards["conversation_hours"] * 3600)
        if self.conversations.is_open(tenant, cand.user, window_s=window_s):
            return "in_conversation"
        if self._quiet_until(tenant, cand.user, guards) is not None:
            return "quiet_hours"
        return None

    def _capped_reason(self, tenant: str, cand: Candidate, guards: dict) -> str | None:
        last = self.ledger.last_message_s(tenant, cand.user)
        cap_s = int(guards["cap_hours"] * 3600)
        if cand.to_customer and last is not None and last > self.clock.now_s() - cap_s:
            return "capped"
        return None

    def _quiet_until(self, tenant: str, user: str, guards: dict) -> int | None:
        info = self.profiles.get(tenant, user)
        zone = zone_or_utc(info.timezone, guards["default_timezone"])
        return quiet_until(
            self.clock.now_s(),
            zone,
            start_hour=guards["quiet_start_hour"],
            end_hour=guards["quiet_end_hour"],
        )

    def render(
        self, tenant: str, strategy: str, cand: Candidate
    ) -> tuple[str, list[dict[str, Any]]]:
        stored = (
            self.facts.for_template(tenant, cand.user, cand.template)
            if self.facts is not None
            else {}
        )
        facts = {k: escape(str(v)) for k, v in {**stored, **cand.facts}.items()}
        if cand.to_customer and "first_name" not in facts:
            name = self.profiles.get(tenant, cand.user).first_name
            facts["first_name"] = escape(name) or "there"
        facts.setdefault("user", f"<@{cand.user}>")
        text = cand.template.format_map(_Missing(facts))
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            *cand.extra_blocks,
        ]
        if cand.to_customer:
            blocks.append(unsubscribe_block(strategy))
        return text, blocks

    def _claim(self, attempt: _Attempt, guards: dict) -> Claim | None:
        """The claim to send under, or None when the slot is not ours to send."""
        cap_s = int(guards["cap_hours"] * 3600) if attempt.cand.to_customer else 0
        claim = self.ledger.claim(
            attempt.tenant,
            attempt.strategy,
            attempt.slot,
            user=attempt.cap_user,
            cap_s=cap_s,
        )
        if not claim.may_send:
            self._skip(attempt, CLAIM_SKIP_REASONS.get(claim.status, "already_sent"))
            return None
        if claim.status is ClaimStatus.IN_DOUBT and self._was_delivered(attempt, claim):
            return None
        return claim

    def _was_delivered(self, attempt: _Attempt, claim: Claim) -> bool:
        """Resolve an in-doubt claim by looking for the message in Slack."""
        try:
            found = self.messenger.find_keyed(
                user=attempt.dm_user,
                channel=attempt.cand.channel,
                key=attempt.key,
                since_s=int(claim.detail or 0) - HISTORY_SLACK_S,
            )
        except SendError as exc:
            # Still in doubt: keep the claim, so the next look happens after its
            # lease and nothing is sent before the history has been read.
            attempt.report.add(Outcome.FAILED, f"recovery_{exc.code}")
            return True
        logger.info(
            "in-doubt claim resolved tenant=%s strategy=%s slot=%s found=%s",
            attempt.tenant,
            attempt.strategy,
            attempt.slot,
            found is not None,
        )
        if found is None:
            return False
        self._settle(attempt, claim, Outcome.SENT, found.ts)
        attempt.report.add(Outcome.SKIPPED, "already_sent")
        self._after(attempt.cand)
        return True

    def _send(
        self, attempt: _Attempt, claim: Claim, text: str, blocks: list[dict[str, Any]]
    ) -> None:
        cand = attempt.cand
        self.pacer.wait(cand.channel or cand.user)
        try:
            sent = self.messenger.send_keyed(
                user=attempt.dm_user,
                channel=cand.channel,
                text=text,
                blocks=blocks,
                key=attempt.key,
            )
        except SendError as exc:
            self._settle_failure(attempt, claim, exc)
            return

        self._settle(attempt, claim, Outcome.SENT, sent.ts)
        attempt.report.add(Outcome.SENT)
        if cand.on_sent is not None:
            cand.on_sent()
        self._after(cand)

    def _settle(
        self, attempt: _Attempt, claim: Claim, outcome: Outcome, detail: str
    ) -> None:
        self.ledger.settle(
            attempt.tenant,
            attempt.strategy,
            attempt.slot,
            claim,
            outcome,
            user=attempt.cap_user,
            detail=detail,
        )

    def _settle_failure(self, attempt: _Attempt, claim: Claim, exc: SendError) -> None:
        logger.warning(
            "send failed tenant=%s strategy=%s user=%s error=%s retryable=%s",
            attempt.tenant,
            attempt.strategy,
            attempt.cand.user,
            exc.code,
            exc.retryable,
        )
        attempt.report.add(Outcome.FAILED, exc.code)
        if exc.in_doubt:
            return
        if exc.retryable:
            self.ledger.release(
                attempt.tenant,
                attempt.strategy,
                attempt.slot,
                claim,
                user=attempt.cap_user,
                reason=exc.code,
            )
            self.pacer.back_off(exc.retry_after_s)
            return
        self._settle(attempt, claim, Outcome.FAILED, exc.code)
        self._after(attempt.cand)

    @staticmethod
    def _after(cand: Candidate) -> None:
        if cand.on_settled is not None:
            cand.on_settled()


class _Missing(dict):
    """Format map that leaves a field empty rather than failing mid-run."""

    def __missing__(self, key: str) -> str:
        return ""


def unsubscribe_block(strategy: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "ltv_unsubscribe",
        "elements": [
            {
                "type": "button",
                "action_id": "ltv_unsubscribe_strategy",
                "text": {"type": "plain_text", "text": "Stop messages like this"},
                "value": strategy,
            },
            {
                "type": "button",
                "action_id": "ltv_unsubscribe_all",
                "text": {"type": "plain_text", "text": "Stop all messages"},
                "value": "all",
            },
        ],
    }
