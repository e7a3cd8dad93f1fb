"""The shape of a signed Slack payload, checked before Bolt reads it.

Bolt builds its request context from the payload before any middleware runs and
fails with an exception (a 500) on a field of an unexpected type, such as an
``event`` that is a string or ``authorizations`` that is a number. A payload
whose fields have the wrong types is refused here with one sentence naming the
field; the values themselves are checked later, by the listeners.
"""

from __future__ import annotations

from typing import Any

NoneType = type(None)
TEXT = (str, NoneType)
FLAG = (bool, str, NoneType)
OBJECT = (dict, NoneType)
ID_OBJECT = {"id": TEXT, "team_id": TEXT}

AUTHORIZATION = {
    "team_id": TEXT,
    "enterprise_id": TEXT,
    "user_id": TEXT,
    "is_bot": FLAG,
    "is_enterprise_install": FLAG,
}
MESSAGE = {
    "type": TEXT,
    "subtype": TEXT,
    "user": TEXT,
    "bot_id": TEXT,
    "text": TEXT,
    "ts": TEXT,
    "thread_ts": TEXT,
    "team": TEXT,
    "user_team": TEXT,
    "channel": TEXT,
}
EVENT = {
    **MESSAGE,
    "event_ts": TEXT,
    "deleted_ts": TEXT,
    "channel_type": TEXT,
    "hidden": FLAG,
    "message": MESSAGE,
    "previous_message": MESSAGE,
    "item": {"channel": TEXT, "ts": TEXT, "type": TEXT},
}
ACTION = {"action_id": TEXT, "block_id": TEXT, "type": TEXT, "value": TEXT}
ACTION_PAYLOADS = frozenset({"block_actions", "interactive_message"})
# Events whose user and channel may be objects (user_change, channel_created).
OBJECT_ACTOR_EVENTS = frozenset({"user_change", "team_join", "channel_created"})
PAYLOAD = {
    "type": TEXT,
    "token": TEXT,
    "team_id": TEXT,
    "enterprise_id": TEXT,
    "context_team_id": TEXT,
    "context_enterprise_id": TEXT,
    "api_app_id": TEXT,
    "event_id": TEXT,
    "user_id": TEXT,
    "channel_id": TEXT,
    "command": TEXT,
    "text": TEXT,
    "trigger_id": TEXT,
    "response_url": TEXT,
    "is_enterprise_install": FLAG,
    "is_ext_shared_channel": FLAG,
    "team": ID_OBJECT,
    "enterprise": ID_OBJECT,
    "user": ID_OBJECT,
    "channel": ID_OBJECT,
    "container": OBJECT,
    "view": OBJECT,
    "message": OBJECT,
    "actions": (list, NoneType),
}


def payload_problem(payload: object) -> str | None:
    """One sentence on the first field of a wrong type, or None when all fit."""
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    problem = fields_problem(payload, PAYLOAD, "")
    if problem:
        return problem
    authorizations = payload.get("authorizations")
    if authorizations is not None:
        problem = authorizations_problem(authorizations)
        if problem:
            return problem
    if payload.get("type") in ACTION_PAYLOADS:
        return actions_problem(payload.get("actions"))
    if payload.get("type") in VIEW_PAYLOADS:
        return view_problem(payload.get("view"))
    if "event" in payload:
        return event_problem(payload["event"])
    return None


VIEW_PAYLOADS = frozenset({"view_submission", "view_closed"})


def view_problem(view: object) -> str | None:
    """Bolt reads view.type and view.callback_id of every view payload."""
    if not isinstance(view, dict):
        return "field view is not an object"
    for name in ("type", "callback_id"):
        if not isinstance(view.get(name), str):
            return f"field view.{name} is not a string"
    return None


def actions_problem(actions: object) -> str | None:
    """Bolt reads the first action of a click, so there must be one."""
    if not isinstance(actions, list) or not actions:
        return "field actions is not a list of actions"
    for index, action in enumerate(actions):
        if not isinstance(action, dict):
            return f"field actions.{index} is not an object"
        if not isinstance(action.get("action_id"), str):
            return f"field actions.{index}.action_id is not a string"
        problem = fields_problem(action, ACTION, f"actions.{index}.")
        if problem:
            return problem
    return None


def authorizations_problem(authorizations: object) -> str | None:
    if not isinstance(authorizations, list):
        return "field authorizations is not a list"
    for index, item in enumerate(authorizations):
        if not isinstance(item, dict):
            return f"field authorizations.{index} is not an object"
        problem = fields_problem(item, AUTHORIZATION, f"authorizations.{index}.")
        if problem:
            return problem
    return None


def event_problem(event: object) -> str | None:
    if not isinstance(event, dict):
        return "field event is not an object"
    kind = event.get("type")
    if not isinstance(kind, TEXT):
        return "field event.type has the wrong type"
    spec: dict[str, Any] = dict(EVENT)
    if kind in OBJECT_ACTOR_EVENTS:
        spec.update(user=(str, dict, NoneType), channel=(str, dict, NoneType))
    return fields_problem(event, spec, "event.")


def fields_problem(obj: dict[str, Any], spec: dict[str, Any], where: str) -> str | None:
    for name, expected in spec.items():
        if name not in obj:
            continue
        value = obj[name]
        if isinstance(expected, dict):
            if value is None:
                continue
            if not isinstance(value, dict):
                return f"field {where}{name} is not an object"
            problem = fields_problem(value, expected, f"{where}{name}.")
            if problem:
                return problem
        elif not isinstance(value, expected):
            return f"field {where}{name} has the wrong type"
    return None
