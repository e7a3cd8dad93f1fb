"""Every button, form and App Home view, tried as a customer: no data, no change."""

from __future__ import annotations

from tests.reliability.replaying import snapshot
from tests.scenarios.conftest import CUSTOMER
from tests.scenarios.surface import actor, interaction

OTHER_CUSTOMER = "UCUSTZ0009"


def buy(bot) -> None:
    bot.order_notice(
        f"Order 77 paid: $80.00 by <@{OTHER_CUSTOMER}>", ts="1700000000.000100"
    )


def admin_edit_click(bot) -> dict:
    return {
        **actor(bot, CUSTOMER),
        "type": "block_actions",
        "container": {"type": "view", "view_id": "V0HOME"},
        "actions": [
            {
                "type": "button",
                "action_id": "ltv_admin_edit_onboarding",
                "block_id": "ltv_admin_onboarding",
                "value": "onboarding",
                "action_ts": "1700000000.1",
            }
        ],
    }


def admin_modal_submission(bot, callback_id: str, values: dict) -> dict:
    return {
        **actor(bot, CUSTOMER),
        "type": "view_submission",
        "view": {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": "onboarding",
            "state": {"values": values},
        },
    }


def test_a_customer_clicking_the_strategy_edit_button_gets_no_form(bot):
    buy(bot)
    before = snapshot(bot.runtime.redis, bot.tenant)

    interaction(bot, admin_edit_click(bot))

    assert bot.emulator.calls("views.open") == []
    assert snapshot(bot.runtime.redis, bot.tenant) == before


def test_a_customer_submitting_the_strategy_form_changes_nothing(bot):
    values = {"enabled": {"value": {"type": "plain_text_input", "value": "off"}}}

    interaction(bot, admin_modal_submission(bot, "ltv_admin_modal", values))

    assert bot.runtime.strategies.configs.version(bot.tenant) == 0
    assert bot.runtime.strategies.configs.settings(bot.tenant, "onboarding")["enabled"]


def test_a_customer_submitting_the_workspace_settings_form_is_refused(bot):
    values = {"period": {"value": {"type": "plain_text_input", "value": "day"}}}

    reply = interaction(bot, admin_modal_submission(bot, "workspace_settings", values))

    assert reply["response_action"] == "errors"
    assert bot.runtime.ctx.configs.load(bot.tenant).period == "month"


def test_a_customers_app_home_holds_no_one_elses_data(bot):
    buy(bot)

    bot.send_event({"type": "app_home_opened", "user": CUSTOMER, "tab": "home"})

    home = str(bot.emulator.home_view(CUSTOMER)["blocks"])
    assert OTHER_CUSTOMER not in home
    assert "$80.00" not in home
    for agent_only in ("Top customers", "Strategies", "Workspace settings"):
        assert agent_only not in home
