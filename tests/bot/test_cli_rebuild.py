"""`ltv-bot rebuild` recomputes a tenant from its stream against the given Redis."""

from __future__ import annotations

from bot.cli import main
from ltv.keys import TenantKeys
from tests.ltv.test_rebuild import POLICY, RandomHistory, snapshot


def without_scores(state: dict) -> dict:
    """The CLI rebuilds at the wall clock's now, so LTV scores differ from the
    fixed clock's; everything else must be equal."""
    return {
        name: {k: v for k, v in value.items() if k != b"ltv_score"}
        if isinstance(value, dict)
        else value
        for name, value in state.items()
        if name != "idx:ltv"
    }


def test_the_rebuild_command_restores_a_damaged_tenant(
    store, tenant, redis_url, monkeypatch, capsys
):
    history = RandomHistory(tenant, 3)
    for _ in range(80):
        store.record(history.next_event(), POLICY)
    store.register_tenant(tenant)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LTV_LIFESPAN", "24")
    live = snapshot(store.redis, tenant)
    store.redis.delete(TenantKeys(tenant).totals)

    code = main(["rebuild", "--tenant", tenant])

    assert code == 0
    assert f"rebuilt {tenant}:" in capsys.readouterr().out
    assert without_scores(snapshot(store.redis, tenant)) == without_scores(live)
