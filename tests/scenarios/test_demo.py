"""The demo replays the CDNOW sample; its stored totals must equal the file's own."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from importlib import resources

import pytest

from bot.demo import run_demo
from bot.settings import Settings
from ltv.clock import SystemClock
from ltv.store import LtvStore
from tests.conftest import delete_tenant_keys

# Published with the data set: 6,919 purchases by 2,357 customers, $244,091.94.
PUBLISHED = (2357, 6919, 24_409_194)


def totals_from_file_independently() -> tuple[int, int, int]:
    """Reads the shipped file with Decimal, a different path from the demo's parser."""
    text = resources.files("ltv.data").joinpath("CDNOW_sample.txt").read_text()
    customers, purchases, revenue = set(), 0, Decimal(0)
    for line in text.strip().splitlines():
        customer, _sample, _date, _cds, dollars = line.split()
        customers.add(customer)
        purchases += 1
        revenue += Decimal(dollars)
    return len(customers), purchases, int(revenue * 100)


@pytest.fixture
def demo_team(redis_client):
    """A team id of this test's own, so parallel runs never share demo keys."""
    team = "TDEMO" + uuid.uuid4().hex[:8].upper()
    yield team
    delete_tenant_keys(redis_client, team)


def test_the_shipped_file_has_the_published_totals():
    assert totals_from_file_independently() == PUBLISHED


@pytest.mark.slow
def test_demo_stores_exactly_the_files_totals_and_welcomes_everyone(
    demo_team, redis_client, redis_url
):
    out = io.StringIO()

    status = run_demo(
        Settings(_env_file=None, REDIS_URL=redis_url), out=out, team=demo_team
    )

    totals = LtvStore(redis_client, clock=SystemClock()).totals(demo_team)
    report = out.getvalue()
    assert status == 0, report
    assert (totals.customers, totals.purchases, totals.revenue_minor) == (
        totals_from_file_independently()
    )
    assert "onboarding DMs received by the Slack emulator: 2,357" in report
    assert "totals match the file exactly: yes" in report
