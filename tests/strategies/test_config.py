"""Strategy settings: validation, layers, audit trail and version."""

from __future__ import annotations

import json

import pytest

from strategies.config import (
    SettingError,
    StrategyConfigStore,
    check_template,
    load_file,
)


@pytest.fixture
def configs(redis_client, clock):
    return StrategyConfigStore(redis_client, clock=clock)


def test_defaults_are_sensible_and_complete(configs, tenant):
    loyalty = configs.settings(tenant, "loyalty")
    guards = configs.settings(tenant, "guards")

    assert loyalty["bronze"] < loyalty["silver"] < loyalty["gold"]
    assert (guards["quiet_start_hour"], guards["quiet_end_hour"]) == (21, 8)
    assert guards["cap_hours"] == 72


def test_a_change_is_stored_with_who_when_old_and_new(configs, tenant, clock):
    configs.set(tenant, "loyalty", "gold", "2500", by="UADMIN0001")
    configs.set(tenant, "loyalty", "gold", "3000", by="UADMIN0002")

    audit = configs.audit(tenant)

    assert configs.settings(tenant, "loyalty")["gold"] == 3000
    assert configs.version(tenant) == 2
    assert audit[0] == {
        "field": "loyalty.gold",
        "old": "2500",
        "new": "3000",
        "by": "UADMIN0002",
        "at": str(clock.now_s()),
    }


@pytest.mark.parametrize(
    ("strategy", "name", "text", "message"),
    [
        ("loyalty", "gold", "-1", "'-1' is not usable; expected a number of 0 or more"),
        ("loyalty", "gold", "lots", "'lots' is not usable; expected a number"),
        ("proactive", "alive_threshold", "1.5", "expected a fraction from 0 to 1"),
        ("guards", "quiet_end_hour", "24", "expected an hour from 0 to 23"),
        ("guards", "default_timezone", "Mars/Base", "time zone 'Mars/Base' is unknown"),
        ("feedback", "cron", "every day", "is not usable"),
        ("feedback", "ask_nps", "maybe", "expected on or off"),
        (
            "onboarding",
            "template_welcome",
            "Hi {name}",
            "template field {name} is unknown",
        ),
        ("onboarding", "template_welcome", "Hi {first_name!r}", "is unknown"),
        ("onboarding", "template_welcome", "Hi {first_name", "is malformed"),
        ("rockets", "cron", "* * * * *", "strategy 'rockets' is unknown"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(
    configs, tenant, strategy, name, text, message
):
    with pytest.raises(
        SettingError, match=message.replace("{", r"\{").replace("(", r"\(")
    ):
        configs.set(tenant, strategy, name, text, by="UADMIN0001")

    assert configs.version(tenant) == 0
    assert configs.audit(tenant) == []


def test_a_template_with_known_fields_is_accepted():
    text = "Hi {first_name}, you are {tier} with {ltv} after {purchases} buys"

    assert check_template(text) == text


def test_a_config_file_gives_the_initial_settings(
    configs, tenant, tmp_path, redis_client, clock
):
    path = tmp_path / "strategies.json"
    path.write_text(json.dumps({"loyalty": {"gold": 900, "enabled": False}}))

    seeded = StrategyConfigStore(
        redis_client, clock=clock, initial=load_file(str(path))
    )
    seeded.set(tenant, "loyalty", "silver", "400", by="UADMIN0001")

    values = seeded.settings(tenant, "loyalty")
    assert (values["gold"], values["enabled"], values["silver"]) == (900, False, 400)


def test_a_config_file_with_a_bad_value_is_refused(tmp_path):
    path = tmp_path / "strategies.json"
    path.write_text(json.dumps({"guards": {"cap_hours": -3}}))

    with pytest.raises(SettingError, match="'-3' is not usable"):
        load_file(str(path))
