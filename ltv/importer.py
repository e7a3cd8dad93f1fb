"""Bulk import of purchase history from CSV or the CDNOW format, idempotent by order.

Each row becomes a Purchase or Refund event whose event id and source ref are
derived from the order id, so the store's Lua script makes a second import of
the same file a no-op. Rows are validated in full before anything is sent;
each accepted row is one atomic script call, sent to Redis in pipelined
batches. A row that fails is reported with its line number and reason and
leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TextIO

from pydantic import ValidationError
from redis.exceptions import NoScriptError

from ltv.errors import LtvError, StoreUnavailableError
from ltv.events import Purchase, Refund
from ltv.formula import LtvPolicy
from ltv.keys import USER_ID, TenantKeys
from ltv.money import Money, convert, parse_amount
from ltv.store import REDIS_ERRORS, LtvStore, RecordStatus
from ltv.workspace import WorkspaceConfig

logger = logging.getLogger(__name__)

BATCH_ROWS = 500
PROGRESS_EVERY_S = 0.25
CDNOW_HOUR_UTC = 12
Kind = Literal["purchase", "refund"]
EmailResolver = Callable[[Sequence[str]], dict[str, str]]


class ImportFormatError(LtvError, ValueError):
    """The file as a whole cannot be read: a missing column or an unknown format."""


@dataclass(frozen=True, slots=True)
class Columns:
    """Which CSV header names hold which field; kind and currency are optional."""

    customer: str = "customer"
    amount: str = "amount"
    currency: str | None = "currency"
    time: str = "time"
    order: str = "order_id"
    kind: str | None = "kind"

    def required(self) -> tuple[str, ...]:
        return (self.customer, self.amount, self.time, self.order)


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read from the file, before any validation."""

    line: int
    customer: str
    amount: str
    currency: str
    time: str
    order: str
    kind: str = "purchase"


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did: counts by outcome, rejected rows, unknown emails."""

    rows: int = 0
    recorded: int = 0
    already_there: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    unknown_emails: set[str] = field(default_factory=set)
    elapsed_s: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.rows:,} rows: {self.recorded:,} recorded, "
            f"{self.already_there:,} already there, {len(self.rejected):,} rejected "
            f"in {self.elapsed_s:.1f} s ({self.rows_per_second:,.0f} rows/s)"
        )


# Reading files.


def read_csv_rows(text: str, columns: Columns) -> Iterator[RawRow]:
    """Rows of a CSV file with a header; line numbers count the header as 1."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [name for name in columns.required() if name not in header]
    if missing:
        raise ImportFormatError(
            f"CSV header {header!r} lacks the column(s) {missing!r}; name them "
            "with --customer-column, --amount-column, --time-column, --order-column"
        )
    for record in reader:
        yield RawRow(
            line=reader.line_num,
            customer=(record.get(columns.customer) or "").strip(),
            amount=(record.get(columns.amount) or "").strip(),
            currency=_optional(record, columns.currency),
            time=(record.get(columns.time) or "").strip(),
            order=(record.get(columns.order) or "").strip(),
            kind=_optional(record, columns.kind).lower() or "purchase",
        )


def _optional(record: dict[str, str | None], column: str | None) -> str:
    return (record.get(column) or "").strip() if column else ""


def read_cdnow_rows(text: str) -> Iterator[RawRow]:
    """CDNOW rows: id [sample id] YYYYMMDD CDs dollars; a header line is skipped.

    CDNOW has no order ids: the n-th purchase of a customer on a day is order
    ``cdnow-<id>-<day>-<n>``, stable for the same file.
    """
    seen: dict[tuple[str, str], int] = {}
    for line, text_line in enumerate(text.splitlines(), start=1):
        fields = text_line.split()
        if not fields or not fields[0].isdigit():
            continue
        if len(fields) not in (4, 5):
            yield RawRow(line, fields[0], "", "", "", "", kind="malformed")
            continue
        customer, day, dollars = fields[0], fields[-3], fields[-1]
        nth = seen.get((customer, day), 0) + 1
        seen[(customer, day)] = nth
        yield RawRow(
            line=line,
            customer=cdnow_user(customer),
            amount=dollars,
            currency="USD",
            time=day,
            order=f"cdnow-{customer}-{day}-{nth}",
        )


def cdnow_user(customer: str) -> str:
    """The Slack-style user id the CDNOW customer number is imported as."""
    return f"UCD{int(customer):05d}"


# Validating rows into events.


def parse_time_ms(text: str) -> int:
    """YYYYMMDD, an ISO 8601 date or date-time (UTC unless it says), or epoch s."""
    if text.isdigit() and len(text) == 8:
        day = datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
        return int(day.timestamp()) * 1000 + CDNOW_HOUR_UTC * 3_600_000
    if text.replace(".", "", 1).isdigit():
        return round(float(text) * 1000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"time {text!r} is not a date; expected 2024-05-01, "
            "2024-05-01T09:30:00Z, 20240501 or epoch seconds"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


# History can't be later than now; a day of slack covers time zones.
FUTURE_TOLERANCE_MS = 86_400_000


def build_event(
    row: RawRow, tenant: str, user: str, config: WorkspaceConfig, *, now_ms: int
) -> Purchase | Refund:
    """The event a row stands for; raises ValueError saying what is wrong."""
    if row.kind not in ("purchase", "refund"):
        raise ValueError(
            f"kind {row.kind!r} is not purchase or refund"
            if row.kind != "malformed"
            else "expected 4 or 5 whitespace-separated CDNOW fields"
        )
    if not row.order:
        raise ValueError("order id is empty; every row needs one")
    try:
        money = parse_amount(row.amount, default_currency=row.currency or None)
    except ValueError as exc:
        raise ValueError(f"amount {row.amount!r}: {exc}") from exc
    if row.currency and money.currency != row.currency.upper():
        raise ValueError(
            f"amount {row.amount!r} is in {money.currency}, but the currency "
            f"column says {row.currency!r}"
        )
    if money.minor < 0 or (row.kind == "refund" and money.minor == 0):
        raise ValueError(
            f"amount {row.amount!r} is negative or a zero refund; write refunds "
            "as positive amounts with kind=refund"
        )
    at_ms = parse_time_ms(row.time)
    if at_ms > now_ms + FUTURE_TOLERANCE_MS:
        raise ValueError(
            f"time {row.time!r} is in the future; history must be dated up to today"
        )
    base = convert(money, config.base_currency, config.rates)
    return _money_event(row, tenant, user, money, base.minor, at_ms)


def _money_event(
    row: RawRow, tenant: str, user: str, money: Money, base_minor: int, at_ms: int
) -> Purchase | Refund:
    """Event id and source ref come from the order id, so a re-import is a no-op."""
    model: type[Purchase] | type[Refund] = Purchase
    ref = f"import:order:{row.order}"
    if row.kind == "refund":
        # An order may be refunded more than once: each refund is its own row.
        model = Refund
        ref = f"import:refund:{row.order}:{at_ms}:{money.currency}:{money.minor}"
    return model(
        tenant=tenant,
        user=user,
        at_ms=at_ms,
        event_id=ref,
        source_ref=ref,
        amount=money,
        base_amount_minor=base_minor,
        order_id=row.order,
    )


def is_email(text: str) -> bool:
    return "@" in text and " " not in text


# Importing.


class Progress:
    """A progress bar on a stream (stderr), redrawn at most every quarter second."""

    def __init__(self, out: TextIO | None, total: int) -> None:
        self.out = out
        self.total = max(total, 1)
        self.started = time.monotonic()
        self._drawn_at = 0.0

    def update(self, done: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if self.out is None or (not final and now - self._drawn_at < PROGRESS_EVERY_S):
            return
        self._drawn_at = now
        share = min(done / self.total, 1.0)
        bar = "#" * int(share * 30)
        rate = done / max(now - self.started, 1e-9)
        self.out.write(
            f"\r  [{bar:<30}] {done:>9,}/{self.total:,} rows {rate:>8,.0f}/s"
        )
        if final:
            self.out.write("\n")
        self.out.flush()


class HistoryImporter:
    """Validates rows, resolves emails, and records them in pipelined batches."""

    def __init__(
        self,
        store: LtvStore,
        *,
        tenant: str,
        config: WorkspaceConfig,
        resolve_emails: EmailResolver | None = None,
        welcome: bool = False,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.store = store
        self.tenant = TenantKeys(tenant).tenant
        self.config = config
        self.policy: LtvPolicy = config.policy()
        self.resolve_emails = resolve_emails
        self.welcome = welcome
        self.batch_rows = batch_rows
        self._emails: dict[str, str | None] = {}

    def run(
        self, rows: Iterable[RawRow], *, total: int = 0, progress: TextIO | None = None
    ) -> ImportReport:
        report = ImportReport()
        bar = Progress(progress, total)
        started = time.monotonic()
        self.store.register_tenant(self.tenant)

        batch: list[RawRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.batch_rows:
                self._import_batch(batch, report)
                batch = []
                bar.update(report.rows)
        if batch:
            self._import_batch(batch, report)

        bar.update(report.rows, final=True)
        report.elapsed_s = time.monotonic() - started
        logger.info(
            "import finished tenant=%s rows=%s recorded=%s rejected=%s",
            self.tenant,
            report.rows,
            report.recorded,
            len(report.rejected),
        )
        return report

    def _import_batch(self, rows: list[RawRow], report: ImportReport) -> None:
        report.rows += len(rows)
        self._resolve_batch_emails(rows)
        events: list[tuple[int, Purchase | Refund]] = []
        for row in rows:
            try:
                events.append((row.line, self._event_for(row, report)))
            except (ValueError, LtvError, ValidationError) as exc:
                report.rejected.append(Rejection(row.line, _reason(exc)))
        events = self._drop_orders_known_elsewhere(events, report)
        if not events:
            return

        results = self._send(events)
        for (line, _event), result in zip(events, results, strict=True):
            self._count(line, result, report)

    def _drop_orders_known_elsewhere(
        self, events: list[tuple[int, Purchase | Refund]], report: ImportReport
    ) -> list[tuple[int, Purchase | Refund]]:
        """A purchase whose order id is already stored from elsewhere (an order
        notice in Slack) would count twice; it is rejected instead."""
        purchases = [(line, e) for line, e in events if isinstance(e, Purchase)]
        if not purchases:
            return events
        digests = [e.order_digest for _, e in purchases]
        try:
            owners = self.store.redis.hmget(TenantKeys(self.tenant).orders, digests)
        except REDIS_ERRORS as exc:
            raise StoreUnavailableError(f"import batch not stored: {exc}") from exc
        clashing = {
            line
            for (line, event), owner in zip(purchases, owners, strict=True)
            if owner is not None and _text(owner) != event.ref
        }
        for line, event in purchases:
            if line in clashing:
                report.rejected.append(
                    Rejection(line, f"order {event.order_id!r} is already recorded")
                )
        return [(line, e) for line, e in events if line not in clashing]

    def _event_for(self, row: RawRow, report: ImportReport) -> Purchase | Refund:
        user = row.customer
        if is_email(user):
            resolved = self._emails.get(user.lower())
            if resolved is None:
                report.unknown_emails.add(user.lower())
                raise ValueError(f"no Slack user has the email {user!r}")
            user = resolved
        elif not USER_ID.match(user):
            raise ValueError(
                f"customer {user!r} is neither a Slack user id (U0123ABCD) nor an "
                "email address"
            )
        return build_event(
            row, self.tenant, user, self.config, now_ms=self.store.clock.now_s() * 1000
        )

    def _resolve_batch_emails(self, rows: list[RawRow]) -> None:
        wanted = sorted(
            {
                r.customer.lower()
                for r in rows
                if is_email(r.customer) and r.customer.lower() not in self._emails
            }
        )
        if not wanted:
            return
        found = self.resolve_emails(wanted) if self.resolve_emails else {}
        for email in wanted:
            self._emails[email] = found.get(email)

    def _send(self, events: list[tuple[int, Purchase | Refund]]) -> list[object]:
        """One pipeline per batch: each row's script call is atomic on its own."""
        keys = TenantKeys(self.tenant)
        users = [event.user for _, event in events]
        try:
            known = self._existing_customers(keys, users)
            results = self._record_all([event for _, event in events])
            if not self.welcome:
                self._skip_welcome(keys, set(users) - known)
        except REDIS_ERRORS as exc:
            raise StoreUnavailableError(f"import batch not stored: {exc}") from exc
        return results

    def _record_all(self, events: list[Purchase | Refund]) -> list[object]:
        """Pipelined script calls; a call that found no script ran nothing: redo it."""
        results = self._pipeline_records(events)
        missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if missing:
            self.store.load_scripts()
            again = self._pipeline_records([events[i] for i in missing])
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        return results

    def _pipeline_records(self, events: list[Purchase | Refund]) -> list[object]:
        pipe = self.store.redis.pipeline(transaction=False)
        for event in events:
            self.store.record_in(pipe, event, self.policy)
        return list(pipe.execute(raise_on_error=False))

    def _existing_customers(self, keys: TenantKeys, users: list[str]) -> set[str]:
        unique = sorted(set(users))
        pipe = self.store.redis.pipeline(transaction=False)
        for user in unique:
            pipe.exists(keys.customer(user))
        return {u for u, n in zip(unique, pipe.execute(), strict=True) if n}

    def _skip_welcome(self, keys: TenantKeys, new_users: set[str]) -> None:
        """Customers first seen in history are not new: no onboarding DM for them."""
        if new_users:
            self.store.redis.zrem(keys.pending("onboarding"), *sorted(new_users))

    @staticmethod
    def _count(line: int, result: object, report: ImportReport) -> None:
        if isinstance(result, Exception):
            report.rejected.append(Rejection(line, f"Redis refused the row: {result}"))
            return
        status = RecordStatus(_text(result[0]))  # type: ignore[index]
        if status is RecordStatus.RECORDED:
            report.recorded += 1
        elif status in (RecordStatus.DUPLICATE, RecordStatus.UNCHANGED):
            report.already_there += 1
        else:
            reason = _text(result[1]).replace("_", " ")  # type: ignore[index]
            report.rejected.append(Rejection(line, f"not recorded: {reason}"))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return str(exc)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def write_rejections(report: ImportReport, out: TextIO) -> None:
    """The rejected rows, one a line, then the emails no Slack user has."""
    for rejection in report.rejected:
        out.write(f"  line {rejection.line}: {rejection.reason}\n")
    if report.unknown_emails:
        out.write(
            "  unknown emails: " + ", ".join(sorted(report.unknown_emails)) + "\n"
        )


__all__ = [
    "Columns",
    "HistoryImporter",
    "ImportFormatError",
    "ImportReport",
    "RawRow",
    "read_cdnow_rows",
    "read_csv_rows",
    "write_rejections",
]
