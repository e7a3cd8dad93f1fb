"""Process counters in Prometheus's text format, served at /metrics in HTTP mode.

Counters are kept in this process only; each replica exposes its own, and
Prometheus sums them. Names follow Prometheus's conventions (``_total``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import redis

from ltv.keys import TenantKeys

HELP = {
    "ltv_events_handled_total": "Slack events handled, by type and store status.",
    "ltv_purchases_total": "Purchases and refunds recorded, by kind and source.",
    "ltv_messages_total": "Strategy messages in the shared send log, by strategy, "
    "outcome and reason.",
    "ltv_commands_total": "Slash commands answered, by subcommand.",
    "ltv_errors_total": "Errors answered to Slack, by kind.",
    "ltv_orders_unmatched_total": "Orders-channel messages no pattern read.",
}


class Metrics:
    """Thread-safe labelled counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        if name not in HELP:
            raise KeyError(f"unknown metric {name!r}; expected one of {sorted(HELP)}")
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            self._counts[key] += amount

    def value(self, name: str, **labels: str) -> int:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            return self._counts[key]

    def render(self) -> str:
        """Every counter, with HELP and TYPE lines, in the text exposition format."""
        with self._lock:
            counts = dict(self._counts)
        lines: list[str] = []
        for name, help_text in HELP.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            series = sorted((k[1], v) for k, v in counts.items() if k[0] == name)
            lines += [f"{name}{_labels(labels)} {value}" for labels, value in series]
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS = Metrics()


MAX_LOG_ENTRIES_PER_SCRAPE = 10_000


class SendLogCounter:
    """Counts strategy outcomes from each tenant's send log, reading only new entries.

    The send log is shared by every replica, so each replica reports the same
    totals: what the workspace's strategies did, not what this process did.
    """

    def __init__(
        self, client: redis.Redis, tenants: Callable[[], list[str]], metrics: Metrics
    ) -> None:
        self.redis = client
        self.tenants = tenants
        self.metrics = metrics
        self._cursors: dict[str, str] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            for tenant in self.tenants():
                self._read_new(tenant)

    def _read_new(self, tenant: str) -> None:
        start = self._cursors.get(tenant, "-")
        entries: Any = self.redis.xrange(
            TenantKeys(tenant).send_log, min=start, count=MAX_LOG_ENTRIES_PER_SCRAPE
        )
        for entry_id, fields in entries:
            raw = {_text(k): _text(v) for k, v in fields.items()}
            self.metrics.inc(
                "ltv_messages_total",
                strategy=raw.get("strategy", ""),
                outcome=raw.get("outcome", ""),
                reason=raw.get("reason", ""),
            )
            self._cursors[tenant] = "(" + _text(entry_id)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
