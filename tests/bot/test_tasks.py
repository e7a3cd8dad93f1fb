"""`ltv-bot import`, `export` and `report` end to end, emails looked up in Slack."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from bot.cli import main
from bot.emulator import SlackEmulator

CSV = """customer,amount,currency,time,order_id
ada@example.com,$12.50,USD,2024-03-01,T-1
U0000BOB1,$7.00,USD,2024-03-02,T-2
nobody@example.com,$3.00,USD,2024-03-03,T-3
"""


@pytest.fixture
def slack(tenant) -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(team_id=tenant).start()
    emulator.add_user("U0000ADA1", name="ada", email="Ada@Example.com")
    yield emulator
    emulator.stop()


@pytest.fixture
def env(monkeypatch, tmp_path, redis_url, slack):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return tmp_path


def test_import_resolves_emails_lists_unknown_ones_and_is_idempotent(
    env, tenant, store, capsys, slack
):
    path = env / "orders.csv"
    path.write_text(CSV)

    first = main(["import", str(path), "--team", tenant])
    out = capsys.readouterr()
    second = main(["import", str(path)])  # the token's workspace
    again = capsys.readouterr().out

    assert first == 1
    assert "3 rows: 2 recorded" in out.out
    assert "line 4: no Slack user has the email 'nobody@example.com'" in out.out
    assert "unknown emails: nobody@example.com" in out.out
    assert "rows" in out.err  # the progress bar
    assert store.customer(tenant, "U0000ADA1").revenue_minor == 1250
    assert second == 1
    assert "0 recorded, 2 already there, 1 rejected" in again
    assert len(slack.calls("users.lookupByEmail")) == 4


def test_export_and_report_write_their_files(env, tenant, store, capsys):
    (env / "orders.csv").write_text(CSV)
    main(["import", str(env / "orders.csv"), "--team", tenant])

    assert main(["export", "--team", tenant, "--out", str(env / "c.csv")]) == 0
    assert main(["export", "--team", tenant, "--format", "json"]) == 0
    assert main(["report", "--team", tenant, "--out", str(env / "rep")]) == 0

    rows = list(csv.DictReader(io.StringIO((env / "c.csv").read_text())))
    assert sorted(r["user"] for r in rows) == ["U0000ADA1", "U0000BOB1"]
    assert '"user": "U0000BOB1"' in capsys.readouterr().out
    assert (env / "rep" / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_a_missing_column_is_one_clear_sentence(env, tenant, capsys):
    (env / "bad.csv").write_text("who,amount\nU0000BOB1,5\n")

    code = main(["import", str(env / "bad.csv"), "--team", tenant])

    assert code == 2
    assert (
        "lacks the column(s) ['customer', 'time', 'order_id']"
        in capsys.readouterr().err
    )
