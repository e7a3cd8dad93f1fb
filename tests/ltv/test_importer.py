"""Importing purchase history: idempotent by order id, every bad row reported."""

from __future__ import annotations

import io
from importlib import resources

import pytest

from ltv.events import Purchase
from ltv.importer import (
    Columns,
    HistoryImporter,
    ImportFormatError,
    parse_time_ms,
    read_cdnow_rows,
    read_csv_rows,
)
from ltv.keys import TenantKeys
from ltv.money import Money
from ltv.workspace import WorkspaceConfig

CONFIG = WorkspaceConfig(rates={"EUR": "1.10"})

CSV = """customer,amount,currency,time,order_id,kind
U0000AAA1,$10.00,USD,2024-01-05,A-1,purchase
U0000AAA1,"1.234,50 €",EUR,2024-01-06T10:00:00Z,A-2,
ada@example.com,25,USD,20240107,A-3,purchase
U0000AAA1,5.00,USD,2024-01-08,A-1,refund
"""


def importer(store, tenant, **kwargs) -> HistoryImporter:
    emails = {"ada@example.com": "U0000ADA1"}
    return HistoryImporter(
        store,
        tenant=tenant,
        config=CONFIG,
        resolve_emails=lambda wanted: {e: emails[e] for e in wanted if e in emails},
        **kwargs,
    )


def run_csv(store, tenant, text: str, **kwargs):
    return importer(store, tenant, **kwargs).run(read_csv_rows(text, Columns()))


def test_csv_import_records_purchases_refunds_and_emails(store, tenant):
    report = run_csv(store, tenant, CSV)

    assert (report.rows, report.recorded, report.rejected) == (4, 4, [])
    casey = store.customer(tenant, "U0000AAA1")
    assert casey is not None
    assert casey.purchases == 2
    # 1,234.50 EUR at 1.10 is 1,357.95 USD; plus $10.00; minus the $5 refund.
    assert casey.revenue_minor == 1000 + 135795
    assert casey.refunds_minor == 500
    assert store.customer(tenant, "U0000ADA1").revenue_minor == 2500


def test_importing_the_same_file_twice_changes_nothing(store, tenant, redis_client):
    run_csv(store, tenant, CSV)
    before = store.totals(tenant)
    stream_length = redis_client.xlen(TenantKeys(tenant).events)

    again = run_csv(store, tenant, CSV)

    assert (again.recorded, again.already_there, again.rejected) == (0, 4, [])
    assert store.totals(tenant) == before
    assert redis_client.xlen(TenantKeys(tenant).events) == stream_length


def test_bad_rows_are_reported_with_line_and_reason_and_store_nothing(store, tenant):
    text = """customer,amount,currency,time,order_id,kind
U0000AAA1,ten dollars,USD,2024-01-05,B-1,purchase
nobody@example.com,5,USD,2024-01-05,B-2,purchase
U0000AAA1,5,USD,not a date,B-3,purchase
U0000AAA1,5,GBP,2024-01-05,B-4,purchase
U0000AAA1,50,USD,2024-01-05,B-5,refund
U0000AAA1,-5,USD,2024-01-05,B-6,purchase
someone,5,USD,2024-01-05,B-7,purchase
U0000AAA1,€5,USD,2024-01-05,B-8,purchase
U0000AAA1,5,USD,2024-01-05,,purchase
U0000AAA1,5,USD,2024-01-05,B-9,gift
"""
    report = run_csv(store, tenant, text)

    reasons = {r.line: r.reason for r in report.rejected}
    assert sorted(reasons) == list(range(2, 12))
    assert "ten dollars" in reasons[2]
    assert "nobody@example.com" in reasons[3]
    assert "not a date" in reasons[4]
    assert "GBP" in reasons[5]
    assert reasons[6] == "not recorded: refund too large"
    assert "negative" in reasons[7]
    assert "neither a Slack user id" in reasons[8]
    assert "currency column" in reasons[9]
    assert "order id is empty" in reasons[10]
    assert "gift" in reasons[11]
    assert report.unknown_emails == {"nobody@example.com"}
    assert report.recorded == 0
    assert store.customer(tenant, "U0000AAA1") is None
    assert store.totals(tenant).purchases == 0


def test_a_refund_over_its_order_leaves_the_order_intact(store, tenant):
    text = """customer,amount,currency,time,order_id,kind
U0000AAA1,10,USD,2024-01-05,C-1,purchase
U0000AAA1,10,USD,2024-01-06,C-2,purchase
U0000AAA1,15,USD,2024-01-07,C-1,refund
"""
    report = run_csv(store, tenant, text)

    assert [(r.line, r.reason) for r in report.rejected] == [
        (4, "not recorded: refund exceeds order")
    ]
    casey = store.customer(tenant, "U0000AAA1")
    assert (casey.revenue_minor, casey.refunds_minor) == (2000, 0)


def test_columns_can_be_renamed_and_a_missing_one_is_named(store, tenant):
    text = "who,paid,when,ref\nU0000AAA1,USD 7,2024-02-01,Z-1\n"
    columns = Columns(
        customer="who", amount="paid", time="when", order="ref", currency=None
    )

    report = importer(store, tenant).run(read_csv_rows(text, columns))

    assert report.recorded == 1
    with pytest.raises(
        ImportFormatError, match=r"lacks the column\(s\) \['order_id'\]"
    ):
        list(read_csv_rows("customer,amount,time\n", Columns()))


def test_pipelined_batches_give_the_same_result_as_single_rows(store, tenant):
    text = resources.files("ltv.data").joinpath("CDNOW_sample.txt").read_text()
    first_500 = "\n".join(text.splitlines()[:500])

    report = importer(store, tenant, batch_rows=7).run(read_cdnow_rows(first_500))

    assert (report.recorded, report.rejected) == (500, [])
    expected_minor = sum(
        int(line.split()[-1].replace(".", "")) for line in first_500.splitlines()
    )
    assert store.totals(tenant).revenue_minor == expected_minor
    assert store.totals(tenant).purchases == 500


def test_imported_customers_are_not_queued_for_a_welcome_unless_asked(
    store, tenant, redis_client
):
    pending = TenantKeys(tenant).pending("onboarding")
    run_csv(store, tenant, CSV)
    assert redis_client.zcard(pending) == 0

    run_csv(
        store,
        tenant,
        CSV.replace("A-", "W-").replace("U0000AAA1", "U0000NEW1"),
        welcome=True,
    )
    assert redis_client.zscore(pending, "U0000NEW1") is not None


def test_an_existing_customer_waiting_for_a_welcome_keeps_it(
    store, tenant, redis_client
):
    pending = TenantKeys(tenant).pending("onboarding")
    event = Purchase(
        tenant=tenant,
        user="U0000AAA1",
        at_ms=1_700_000_000_000,
        event_id="Ev1",
        source_ref="C1:1.1",
        amount=Money(100, "USD"),
        base_amount_minor=100,
    )
    store.record(event, CONFIG.policy())

    run_csv(store, tenant, CSV)

    assert redis_client.zscore(pending, "U0000AAA1") is not None


def test_cdnow_rows_get_stable_order_ids_and_malformed_lines_are_reported():
    text = " 00001 19970101  1   11.77\n 00001 19970101  2   5.00\n 00002 1997 x\n"

    rows = list(read_cdnow_rows(text))

    assert [r.order for r in rows[:2]] == [
        "cdnow-00001-19970101-1",
        "cdnow-00001-19970101-2",
    ]
    assert rows[0].customer == "UCD00001"
    assert rows[2].kind == "malformed"


def test_times_in_every_accepted_form():
    assert parse_time_ms("2024-01-01") == 1_704_067_200_000
    assert parse_time_ms("2024-01-01T01:00:00+01:00") == 1_704_067_200_000
    assert parse_time_ms("1704067200") == 1_704_067_200_000
    assert parse_time_ms("20240101") == 1_704_067_200_000 + 12 * 3_600_000
    with pytest.raises(ValueError, match="'yesterday' is not a date"):
        parse_time_ms("yesterday")


def test_progress_bar_goes_to_the_stream_given(store, tenant):
    out = io.StringIO()

    importer(store, tenant).run(read_csv_rows(CSV, Columns()), total=4, progress=out)

    assert "4/4 rows" in out.getvalue()


def test_an_order_already_announced_in_slack_is_not_counted_twice(store, tenant):
    notice = Purchase(
        tenant=tenant,
        user="U0000AAA1",
        at_ms=1_704_412_800_000,
        event_id="EvSLACK1",
        source_ref="CORDERS:1704412800.000100",
        amount=Money(1000, "USD"),
        base_amount_minor=1000,
        order_id="A-1",
    )
    store.record(notice, CONFIG.policy())

    report = run_csv(store, tenant, CSV)

    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "order 'A-1' is already recorded")
    ]
    assert store.customer(tenant, "U0000AAA1").purchases == 2
