"""Operator tasks behind `ltv-bot import`, `export` and `report`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.composition import open_redis, workspace_defaults
from bot.messenger import build_web_client
from bot.settings import Settings
from ltv.clock import SystemClock
from ltv.errors import LtvError
from ltv.importer import (
    Columns,
    HistoryImporter,
    read_cdnow_rows,
    read_csv_rows,
    write_rejections,
)
from ltv.keys import check_tenant
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfigStore

logger = logging.getLogger(__name__)


class TaskError(LtvError, ValueError):
    """An operator task was asked for something it cannot do."""


def add_task_parsers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`import`, `export` and `report`, added to the `ltv-bot` parser."""
    imp = commands.add_parser("import", help="load purchase history from a file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", choices=["csv", "cdnow"], default=None)
    imp.add_argument("--team", default=None, help="workspace id (default: the token's)")
    imp.add_argument("--customer-column", default="customer")
    imp.add_argument("--amount-column", default="amount")
    imp.add_argument("--currency-column", default="currency")
    imp.add_argument("--time-column", default="time")
    imp.add_argument("--order-column", default="order_id")
    imp.add_argument("--kind-column", default="kind")
    imp.add_argument(
        "--welcome", action="store_true", help="queue onboarding DMs for new customers"
    )
    imp.add_argument("--batch", type=int, default=500, help="rows per pipeline")

    exp = commands.add_parser("export", help="write every customer's LTV")
    exp.add_argument("--team", default=None)
    exp.add_argument("--format", choices=["csv", "json"], default="csv")
    exp.add_argument("--out", type=Path, default=None, help="file (default stdout)")

    rep = commands.add_parser("report", help="write an HTML report with charts")
    rep.add_argument("--team", default=None)
    rep.add_argument("--out", type=Path, default=Path("report"))


def run_task(settings: Settings, args: argparse.Namespace) -> int:
    client, embedded = open_redis(settings)
    try:
        store = LtvStore(client, clock=SystemClock())
        team = resolve_team(settings, args.team, store)
        if args.command == "import":
            return run_import(settings, store, team, args)
        if args.command == "export":
            return run_export(settings, store, team, args)
        return run_report(settings, store, team, args)
    except (LtvError, OSError) as exc:
        sys.stderr.write(f"ltv-bot {args.command}: {exc}\n")
        return 2
    finally:
        client.close()
        if embedded is not None:
            embedded.stop()


def resolve_team(settings: Settings, team: str | None, store: LtvStore) -> str:
    """The --team given, else the bot token's workspace, else the only tenant."""
    if team:
        return check_tenant(team)
    if settings.slack_bot_token is not None:
        client = slack_client(settings)
        return check_tenant(str(client.auth_test()["team_id"]))
    tenants = store.tenants()
    if len(tenants) == 1:
        return tenants[0]
    raise TaskError(
        f"cannot tell which workspace to use among {len(tenants)} stored; "
        "pass --team T0123ABCD"
    )


def slack_client(settings: Settings) -> WebClient:
    token = settings.slack_bot_token
    assert token is not None
    return build_web_client(token.get_secret_value(), settings.slack_api_url)


def email_resolver(client: WebClient):  # type: ignore[no-untyped-def]
    """Looks emails up one by one with users.lookupByEmail; misses are left out."""

    def resolve(emails: Sequence[str]) -> dict[str, str]:
        found = {}
        for email in emails:
            try:
                found[email] = str(
                    client.users_lookupByEmail(email=email)["user"]["id"]
                )
            except SlackApiError as exc:
                if exc.response.get("error") != "users_not_found":
                    raise TaskError(
                        f"users.lookupByEmail failed: {exc.response.get('error')}"
                    ) from exc
        return found

    return resolve


def detect_format(path: Path, text: str, chosen: str | None) -> str:
    if chosen:
        return chosen
    if path.suffix.lower() == ".csv" or "," in text.split("\n", 1)[0]:
        return "csv"
    return "cdnow"


def run_import(
    settings: Settings, store: LtvStore, team: str, args: argparse.Namespace
) -> int:
    text = args.file.read_text(encoding="utf-8-sig")
    columns = Columns(
        customer=args.customer_column,
        amount=args.amount_column,
        currency=args.currency_column,
        time=args.time_column,
        order=args.order_column,
        kind=args.kind_column,
    )
    fmt = detect_format(args.file, text, args.format)
    rows = read_csv_rows(text, columns) if fmt == "csv" else read_cdnow_rows(text)
    resolver = None
    if settings.slack_bot_token is not None:
        resolver = email_resolver(slack_client(settings))
    configs = WorkspaceConfigStore(store.redis, defaults=workspace_defaults(settings))
    importer = HistoryImporter(
        store,
        tenant=team,
        config=configs.load(team),
        resolve_emails=resolver,
        welcome=args.welcome,
        batch_rows=max(args.batch, 1),
    )
    report = importer.run(rows, total=text.count("\n"), progress=sys.stderr)
    write_import_report(report, sys.stdout)
    return 0 if not report.rejected else 1


def write_import_report(report, out: TextIO) -> None:  # type: ignore[no-untyped-def]
    out.write(f"imported {report.summary()}\n")
    write_rejections(report, out)


def run_export(
    settings: Settings, store: LtvStore, team: str, args: argparse.Namespace
) -> int:
    from ltv.export import export_customers

    configs = WorkspaceConfigStore(store.redis, defaults=workspace_defaults(settings))
    policy = configs.load(team).policy()
    if args.out is None:
        count = export_customers(store, team, policy, sys.stdout, fmt=args.format)
    else:
        with args.out.open("w", encoding="utf-8", newline="") as out:
            count = export_customers(store, team, policy, out, fmt=args.format)
    sys.stderr.write(f"exported {count:,} customers\n")
    return 0


def run_report(
    settings: Settings, store: LtvStore, team: str, args: argparse.Namespace
) -> int:
    from bot.report import write_report

    configs = WorkspaceConfigStore(store.redis, defaults=workspace_defaults(settings))
    path = write_report(store, team, configs.load(team), args.out)
    sys.stdout.write(f"report written to {path}\n")
    return 0
