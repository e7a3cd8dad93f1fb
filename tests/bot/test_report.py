"""The HTML report in a real headless Chromium: loads cleanly, every chart draws."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bot.report import CHARTS, gather, render_html, write_report
from ltv.importer import HistoryImporter, RawRow
from ltv.keys import TenantKeys
from ltv.workspace import WorkspaceConfig

CONFIG = WorkspaceConfig()
DAY_S = 86_400
START_S = 1_672_531_200  # 2023-01-01
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def simulated_rows(customers: int = 150, seed: int = 7) -> list[RawRow]:
    """Customers arriving over 12 weeks, buying at random rates until they drop out."""
    rng = np.random.default_rng(seed)
    rows, line = [], 1
    for c in range(customers):
        day = int(rng.integers(0, 84))
        rate = rng.gamma(0.5, 1 / 10)
        stay = rng.exponential(200)
        n = 0
        while day < 360 and stay > 0:
            line += 1
            n += 1
            rows.append(
                RawRow(
                    line=line,
                    customer=f"USIM{c:05d}",
                    amount=f"{rng.integers(500, 9000) / 100:.2f}",
                    currency="USD",
                    time=str(START_S + day * DAY_S),
                    order=f"sim-{c}-{n}",
                )
            )
            gap = max(int(rng.exponential(1 / max(rate, 1e-3))), 1)
            day += gap
            stay -= gap
    return rows


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "chromium is not installed; the report test needs a real browser: "
            "apt-get install -y chromium chromium-driver (.ci/run does this)"
        )
    return path


def open_in_browser(page: Path, profile: Path) -> tuple[str, str]:
    """The DOM after scripts ran, and Chromium's log (console messages included)."""
    assert page.is_absolute()
    result = subprocess.run(  # noqa: S603 -- fixed browser binary, file:// URL only
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


@pytest.fixture
def seeded(store, tenant, redis_client):
    importer = HistoryImporter(store, tenant=tenant, config=CONFIG)
    report = importer.run(simulated_rows())
    assert report.rejected == []
    for outcome, reason, score in [
        ("sent", "", ""),
        ("sent", "", "5"),
        ("skipped", "opted_out", ""),
        ("skipped", "quiet_hours", ""),
    ]:
        fields = {"strategy": "onboarding", "outcome": outcome, "reason": reason}
        if score:
            fields["score"] = score
        redis_client.xadd(TenantKeys(tenant).send_log, fields)
    totals = f"{TenantKeys(tenant).prefix}feedback:totals"
    redis_client.hset(totals, mapping={"csat_count": 4, "csat_sum": 17})
    return tenant


def test_report_loads_in_chromium_without_console_messages_and_draws_every_chart(
    store, seeded, tmp_path
):
    page = write_report(store, seeded, CONFIG, tmp_path / "out")

    dom, log = open_in_browser(page, tmp_path / "profile")

    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert 'data-charts-ready="true"' in dom
    for chart in CHARTS:
        drawn = re.search(rf'<figure id="{chart}"[^>]*data-drawn="(\d+)"', dom)
        assert drawn is not None, f"chart {chart} did not draw"
        assert int(drawn.group(1)) > 0, f"chart {chart} drew no marks"
    assert "feedback scores — 5: 1, csat: 4 ratings, mean 4.25" in dom


def test_report_data_counts_match_the_store(store, seeded):
    data = gather(store, seeded, CONFIG)

    assert data["customers"] == store.customer_count(seeded)
    assert sum(data["ltv"]["counts"]) == data["customers"]
    assert sum(data["tiers"]["counts"]) == data["customers"]
    revenue = sum(data["monthly"]["revenue"])
    assert round(revenue * 100) == store.totals(seeded).revenue_minor
    assert "error" not in data["model"], data["model"]
    assert len(data["model"]["actual"]) == len(data["model"]["predicted"])
    strategies = data["strategies"]
    outcomes = dict(zip(strategies["labels"], strategies["counts"], strict=True))
    assert outcomes == {
        "onboarding: sent": 2,
        "onboarding: skipped (opted_out)": 1,
        "onboarding: skipped (quiet_hours)": 1,
    }


def test_page_is_self_contained_and_embedded_text_cannot_close_the_script():
    html = render_html({"tenant": "T1", "note": "</script><script>alert(1)</script>"})

    assert "</script><script>alert(1)" not in html
    assert not re.search(r"""(src|href)=["']?https?:""", html)
    assert "Content-Security-Policy" in html
