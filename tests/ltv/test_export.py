"""Export: every customer with the formula's parts, and the model's when fitted."""

from __future__ import annotations

import csv
import io
import json

from ltv.events import Purchase
from ltv.export import COLUMNS, export_customers, load_model
from ltv.keys import TenantKeys
from ltv.money import Money
from ltv.workspace import WorkspaceConfig

POLICY = WorkspaceConfig().policy()
DAY_MS = 86_400_000
# Published CDNOW fits (weeks): BG/NBD and Gamma-Gamma.
MODEL = {
    "r": "0.243",
    "alpha": "4.414",
    "a": "0.793",
    "b": "2.426",
    "p": "6.25",
    "q": "3.74",
    "gamma": "15.44",
    "time_unit_days": "7.0",
}


def buy(store, tenant, user, n, day, minor):
    event = Purchase(
        tenant=tenant,
        user=user,
        at_ms=1_700_000_000_000 + day * DAY_MS,
        event_id=f"Ev-{user}-{n}",
        source_ref=f"ref-{user}-{n}",
        amount=Money(minor, "USD"),
        base_amount_minor=minor,
    )
    assert store.record(event, POLICY).is_stored


def seed(store, tenant):
    buy(store, tenant, "U0000AAA1", 1, 0, 5000)
    buy(store, tenant, "U0000AAA1", 2, 30, 3000)
    buy(store, tenant, "U0000BBB1", 1, 10, 1234)


def read_csv(text):
    return {row["user"]: row for row in csv.DictReader(io.StringIO(text))}


def test_csv_export_has_every_customer_and_the_formula_parts(store, tenant):
    seed(store, tenant)
    out = io.StringIO()

    count = export_customers(store, tenant, POLICY, out, fmt="csv")

    rows = read_csv(out.getvalue())
    assert count == 2
    assert list(rows["U0000AAA1"]) == COLUMNS
    aaa = rows["U0000AAA1"]
    assert (aaa["purchases"], aaa["net_revenue_minor"]) == ("2", "8000")
    assert aaa["average_purchase_minor"] == "4000.000000"
    record = store.customer(tenant, "U0000AAA1")
    assert aaa["ltv_minor"] == str(store.breakdown(record, POLICY).ltv_minor)
    assert aaa["p_alive"] == ""


def test_model_columns_are_filled_from_a_stored_fit(store, tenant, redis_client):
    seed(store, tenant)
    redis_client.hset(TenantKeys(tenant).model, mapping=MODEL)
    out = io.StringIO()

    export_customers(store, tenant, POLICY, out, fmt="json")

    rows = {row["user"]: row for row in json.loads(out.getvalue())}
    aaa, bbb = rows["U0000AAA1"], rows["U0000BBB1"]
    assert 0 < aaa["p_alive"] < 1
    assert bbb["p_alive"] == 1.0
    assert aaa["expected_purchases_next_52_periods"] > 0
    assert aaa["expected_average_spend"] > 0


def test_an_unusable_stored_model_is_ignored(store, tenant, redis_client):
    redis_client.hset(TenantKeys(tenant).model, mapping={"r": "-1", "alpha": "x"})

    assert load_model(store, tenant) is None
