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
        reason = cand.skip_reason or self._skip_reason(
            tenant, strategy, cand, slot, guards
        )
        if reason == "already_sent" and not dry_run:
            self._after(cand)
        if reason is None and dry_run:
            reason = self._capped_reason(tenant, cand, guards)
        if reason is not None:
            report.add(Outcome.SKIPPED, reason)
            if not dry_run:
                self.ledger.log_skip(tenant, strategy, slot, reason)
            return

        text, blocks = self.render(tenant, strategy, cand)
        if dry_run:
            report.add(Outcome.WOULD_SEND)
            report.previews.append(Preview(cand.user, cand.step, text))
            return
        self._claim_and_send(tenant, strategy, cand, slot, guards, text, blocks, report)

    def _skip_reason(
        self, tenant: str, strategy: str, cand: Candidate, slot: str, guards: dict
    ) -> str | None:
        state = self.ledger.state(tenant, strategy, slot)
        if state in ("sent", "failed"):
            return "already_sent"
        if not cand.to_customer:
            return None
        if self.optouts.is_opted_out(tenant, cand.user, strategy):
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

    def _claim_and_send(
        self,
        tenant: str,
        strategy: str,
        cand: Candidate,
        slot: str,
        guards: dict,
        text: str,
        blocks: list[dict[str, Any]],
        report: RunReport,
    ) -> None:
        cap_s = int(guards["cap_hours"] * 3600) if cand.to_customer else 0
        user_for_cap = cand.user if cand.to_customer else ""
        claim = self.ledger.claim(
            tenant, strategy, slot, user=user_for_cap, cap_s=cap_s
        )
        if not claim.may_send:
            reason = CLAIM_SKIP_REASONS.get(claim.status, "already_sent")
            report.add(Outcome.SKIPPED, reason)
            self.ledger.log_skip(tenant, strategy, slot, reason)
            return
        key = self.ledger.idempotency_key(strategy, slot)
        if claim.status is ClaimStatus.IN_DOUBT and self._was_delivered(
            tenant, strategy, cand, slot, claim, key, report
        ):
            return
        self._send(tenant, strategy, cand, slot, claim, key, text, blocks, report)

    def _was_delivered(
        self,
        tenant: str,
        strategy: str,
        cand: Candidate,
        slot: str,
        claim: Claim,
        key: str,
        report: RunReport,
    ) -> bool:
        """Resolve an in-doubt claim by looking for the message in Slack."""
        since_s = int(claim.detail or 0) - HISTORY_SLACK_S
        try:
            found = self.messenger.find_keyed(
                user=cand.user if cand.to_customer else None,
                channel=cand.channel,
                key=key,
                since_s=since_s,
            )
        except SendError as exc:
            # Still in doubt: keep the claim, so the next look happens after its
            # lease and nothing is sent before the history has been read.
            report.add(Outcome.FAILED, f"recovery_{exc.code}")
            return True
        logger.info(
            "in-doubt claim resolved tenant=%s strategy=%s slot=%s found=%s",
            tenant,
            strategy,
            slot,
            found is not None,
        )
        if found is None:
            return False
        self.ledger.settle(
            tenant,
            strategy,
            slot,
            claim,
            Outcome.SENT,
            user=cand.user if cand.to_customer else "",
            detail=found.ts,
        )
        report.add(Outcome.SKIPPED, "already_sent")
        self._after(cand)
        return True

    def _send(
        self,
        tenant: str,
        strategy: str,
        cand: Candidate,
        slot: str,
        claim: Claim,
        key: str,
        text: str,
        blocks: list[dict[str, Any]],
        report: RunReport,
    ) -> None:
        user_for_cap = cand.user if cand.to_customer else ""
        self.pacer.wait(cand.channel or cand.user)
        try:
            sent = self.messenger.send_keyed(
                user=cand.user if cand.to_customer else None,
                channel=cand.channel,
                text=text,
                blocks=blocks,
                key=key,
            )
        except SendError as exc:
            self._settle_failure(tenant, strategy, cand, slot, claim, exc, report)
            return
        self.ledger.settle(
            tenant,
            strategy,
            slot,
            claim,
            Outcome.SENT,
            user=user_for_cap,
            detail=sent.ts,
        )
        report.add(Outcome.SENT)
        if cand.on_sent is not None:
            cand.on_sent()
        self._after(cand)

    def _settle_failure(
        self,
        tenant: str,
        strategy: str,
        cand: Candidate,
        slot: str,
        claim: Claim,
        exc: SendError,
        report: RunReport,
    ) -> None:
        logger.warning(
            "send failed tenant=%s strategy=%s user=%s error=%s retryable=%s",
            tenant,
            strategy,
            cand.user,
            exc.code,
            exc.retryable,
        )
        report.add(Outcome.FAILED, exc.code)
        user_for_cap = cand.user if cand.to_customer else ""
        if exc.in_doubt:
            return
        if exc.retryable:
            self.ledger.release(
                tenant, strategy, slot, claim, user=user_for_cap, reason=exc.code
            )
            if exc.code == "ratelimited" or exc.retry_after_s:
                self.pacer.back_off(exc.retry_after_s)
            return
        self.ledger.settle(
            tenant,
            strategy,
            slot,
            claim,
            Outcome.FAILED,
            user=user_for_cap,
            detail=exc.code,
        )
        self._after(cand)

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
