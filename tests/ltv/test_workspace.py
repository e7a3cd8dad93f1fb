"""Workspace settings: admins' overrides over the operator's defaults, auto lifespan."""

import re

import pytest

from ltv.formula import PERIOD_SECONDS
from ltv.keys import TenantKeys
from ltv.workspace import WorkspaceConfig, WorkspaceConfigStore


def test_auto_lifespan_reaches_the_policy_through_the_config_store(
    redis_client, tenant
):
    redis_client.hset(
        TenantKeys(tenant).model, mapping={"status": "ok", "lifespan_days": "730.5"}
    )
    configs = WorkspaceConfigStore(
        redis_client, defaults=WorkspaceConfig(lifespan="auto", period="year")
    )

    policy = configs.load(tenant).policy()

    assert policy.lifespan_periods == 2
    assert policy.period_seconds == PERIOD_SECONDS["year"]


def test_auto_lifespan_without_a_model_falls_back_to_36_periods(redis_client, tenant):
    configs = WorkspaceConfigStore(
        redis_client, defaults=WorkspaceConfig(lifespan="auto")
    )

    assert configs.load(tenant).policy().lifespan_periods == 36


def test_the_estimate_is_never_saved_as_a_setting(redis_client, tenant):
    redis_client.hset(TenantKeys(tenant).model, "lifespan_days", "100")
    configs = WorkspaceConfigStore(
        redis_client, defaults=WorkspaceConfig(lifespan="auto")
    )

    configs.save_overrides(tenant, period="week")

    assert b"estimated" not in redis_client.hget(TenantKeys(tenant).config, "workspace")


def test_saved_overrides_load_back_and_defaults_still_apply(redis_client, tenant):
    configs = WorkspaceConfigStore(
        redis_client, defaults=WorkspaceConfig(orders_channels=("CORDERS01",))
    )

    configs.save_overrides(tenant, rates={"EUR": "1.1"})
    configs.defaults = WorkspaceConfig(orders_channels=("CORDERS02",))
    loaded = configs.load(tenant)

    assert loaded.rates == {"EUR": "1.1"}
    assert loaded.orders_channels == ("CORDERS02",)


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({"EUR": "abc"}, "exchange rate 'abc' from EUR to USD is not usable"),
        ({"EUR": "-1.1"}, "is not usable"),
        ({"QQQ": "1.1"}, '"QQQ" is not a supported ISO 4217 code'),
        ({"eur": "1.1"}, "must be an upper-case currency code"),
    ],
)
def test_a_bad_exchange_rate_is_refused_and_nothing_is_stored(
    redis_client, tenant, rates, message
):
    configs = WorkspaceConfigStore(redis_client, defaults=WorkspaceConfig())

    with pytest.raises(ValueError, match=re.escape(message)):
        configs.save_overrides(tenant, rates=rates)

    assert redis_client.exists(TenantKeys(tenant).config) == 0
