"""Block Kit payloads checked against Slack's documented limits, without a browser.

Slack refuses a message or view whose blocks break its limits with a terse
``invalid_blocks``; this module finds the same faults before sending and names
each one by its JSON path. The limits come from Slack's Block Kit reference
(blocks, block elements, composition objects and views).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ltv.errors import LtvError

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_ID_CHARS = 255
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_SELECT_OPTIONS = 100
MAX_CHECKBOX_OPTIONS = 10
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_MESSAGE_TEXT = 40_000

BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "input", "image"}
)
VIEW_ONLY_BLOCKS = frozenset({"input"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
BUTTON_STYLES = frozenset({"primary", "danger"})


class BlockKitError(LtvError, ValueError):
    """A payload breaks one or more of Slack's Block Kit limits."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"Block Kit payload refused ({len(problems)} problem(s)): "
            + "; ".join(problems[:10])
        )


class _Checker:
    """Collects every problem of one payload, each named by its JSON path."""

    def __init__(self, surface: str) -> None:
        self.surface = surface
        self.problems: list[str] = []
        self.block_ids: set[str] = set()
        self.action_ids: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def length(self, path: str, value: object, limit: int) -> None:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {type(value).__name__}")
        elif not value:
            self.fail(path, "must not be empty")
        elif len(value) > limit:
            self.fail(path, f"{len(value)} characters, the limit is {limit}")

    def text(
        self, path: str, obj: object, limit: int, *, plain_only: bool = False
    ) -> None:
        if not isinstance(obj, dict):
            self.fail(path, "expected a text object")
            return
        allowed = {"plain_text"} if plain_only else TEXT_TYPES
        if obj.get("type") not in allowed:
            self.fail(path, f"type {obj.get('type')!r}, expected one of {allowed}")
        self.length(f"{path}.text", obj.get("text"), limit)

    def unique(self, path: str, value: object, seen: set[str], what: str) -> None:
        if value is None:
            return
        self.length(path, value, MAX_ID_CHARS)
        if isinstance(value, str) and value in seen:
            self.fail(path, f"duplicate {what} {value!r}")
        if isinstance(value, str):
            seen.add(value)


def _items(value: object) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else iter(())


def _check_option(check: _Checker, path: str, option: object) -> None:
    if not isinstance(option, dict):
        check.fail(path, "expected an option object")
        return
    check.text(f"{path}.text", option.get("text"), MAX_OPTION_TEXT)
    check.length(f"{path}.value", option.get("value"), MAX_OPTION_VALUE)
    if "description" in option:
        check.text(f"{path}.description", option["description"], MAX_OPTION_TEXT)


def _check_options(check: _Checker, path: str, element: dict, limit: int) -> None:
    options = element.get("options")
    if not isinstance(options, list) or not options:
        check.fail(f"{path}.options", "expected a non-empty list")
        return
    if len(options) > limit:
        check.fail(f"{path}.options", f"{len(options)} options, the limit is {limit}")
    for i, option in _items(options):
        _check_option(check, f"{path}.options[{i}]", option)
    for i, option in _items(element.get("initial_options")):
        _check_option(check, f"{path}.initial_options[{i}]", option)


def _check_button(check: _Checker, path: str, element: dict) -> None:
    check.text(f"{path}.text", element.get("text"), MAX_BUTTON_TEXT, plain_only=True)
    if "value" in element:
        check.length(f"{path}.value", element["value"], MAX_BUTTON_VALUE)
    if "url" in element:
        check.length(f"{path}.url", element["url"], MAX_URL)
    if "style" in element and element["style"] not in BUTTON_STYLES:
        check.fail(f"{path}.style", f"{element['style']!r} is not primary or danger")


def _check_input_element(check: _Checker, path: str, element: dict) -> None:
    if "placeholder" in element:
        check.text(
            f"{path}.placeholder",
            element["placeholder"],
            MAX_PLACEHOLDER,
            plain_only=True,
        )
    if "max_length" in element and not 1 <= int(element["max_length"]) <= 3000:
        check.fail(f"{path}.max_length", "must be between 1 and 3000")


ELEMENT_CHECKS = {
    "button": _check_button,
    "plain_text_input": _check_input_element,
    "number_input": _check_input_element,
    "users_select": _check_input_element,
    "conversations_select": _check_input_element,
    "channels_select": _check_input_element,
    "multi_conversations_select": _check_input_element,
    "multi_channels_select": _check_input_element,
    "datepicker": _check_input_element,
}


def _check_element(check: _Checker, path: str, element: object) -> None:
    if not isinstance(element, dict):
        check.fail(path, "expected an element object")
        return
    kind = element.get("type")
    check.unique(
        f"{path}.action_id", element.get("action_id"), check.action_ids, "action_id"
    )
    if kind in ("static_select", "multi_static_select"):
        _check_input_element(check, path, element)
        _check_options(check, path, element, MAX_SELECT_OPTIONS)
    elif kind in ("checkboxes", "radio_buttons"):
        _check_options(check, path, element, MAX_CHECKBOX_OPTIONS)
    elif kind in ELEMENT_CHECKS:
        ELEMENT_CHECKS[kind](check, path, element)
    elif kind != "image":
        check.fail(f"{path}.type", f"unknown element type {kind!r}")


def _check_section(check: _Checker, path: str, block: dict) -> None:
    if "text" not in block and "fields" not in block:
        check.fail(path, "a section needs text or fields")
    if "text" in block:
        check.text(f"{path}.text", block["text"], MAX_SECTION_TEXT)
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > MAX_SECTION_FIELDS:
            check.fail(f"{path}.fields", f"at most {MAX_SECTION_FIELDS} fields")
        for i, field in _items(fields):
            check.text(f"{path}.fields[{i}]", field, MAX_FIELD_TEXT)
    if "accessory" in block:
        _check_element(check, f"{path}.accessory", block["accessory"])


def _check_context(check: _Checker, path: str, block: dict) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        check.fail(f"{path}.elements", f"1 to {MAX_CONTEXT_ELEMENTS} elements")
    for i, element in _items(elements):
        if isinstance(element, dict) and element.get("type") in TEXT_TYPES:
            check.text(f"{path}.elements[{i}]", element, MAX_SECTION_TEXT)
        elif not (isinstance(element, dict) and element.get("type") == "image"):
            check.fail(f"{path}.elements[{i}]", "a context holds text or images")


def _check_actions(check: _Checker, path: str, block: dict) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
        check.fail(f"{path}.elements", f"1 to {MAX_ACTIONS_ELEMENTS} elements")
    for i, element in _items(elements):
        _check_element(check, f"{path}.elements[{i}]", element)


def _check_input(check: _Checker, path: str, block: dict) -> None:
    check.text(f"{path}.label", block.get("label"), MAX_LABEL, plain_only=True)
    if "hint" in block:
        check.text(f"{path}.hint", block["hint"], MAX_LABEL, plain_only=True)
    _check_element(check, f"{path}.element", block.get("element"))


BLOCK_CHECKS = {
    "section": _check_section,
    "header": lambda c, p, b: c.text(
        f"{p}.text", b.get("text"), MAX_HEADER_TEXT, plain_only=True
    ),
    "divider": lambda c, p, b: None,
    "context": _check_context,
    "actions": _check_actions,
    "input": _check_input,
    "image": lambda c, p, b: c.length(f"{p}.image_url", b.get("image_url"), MAX_URL),
}


def _check_blocks(check: _Checker, blocks: object, limit: int) -> None:
    if not isinstance(blocks, list):
        check.fail("blocks", "expected a list of blocks")
        return
    if len(blocks) > limit:
        check.fail("blocks", f"{len(blocks)} blocks, the limit is {limit}")
    for i, block in _items(blocks):
        path = f"blocks[{i}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_CHECKS:
            check.fail(f"{path}.type", f"unknown block type {kind!r}")
            continue
        if kind in VIEW_ONLY_BLOCKS and check.surface == "message":
            check.fail(f"{path}.type", "input blocks belong in modals and App Home")
        check.unique(
            f"{path}.block_id", block.get("block_id"), check.block_ids, "block_id"
        )
        BLOCK_CHECKS[kind](check, path, block)


def message_problems(payload: dict[str, Any]) -> list[str]:
    """Every problem of a message payload (text, blocks); empty when it is valid."""
    check = _Checker("message")
    text = payload.get("text")
    blocks = payload.get("blocks")
    if not text and not blocks:
        check.fail("text", "a message needs text or blocks")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        check.fail("text", f"{len(text)} characters, the limit is {MAX_MESSAGE_TEXT}")
    if blocks is not None:
        _check_blocks(check, blocks, MAX_MESSAGE_BLOCKS)
    return check.problems


def view_problems(view: dict[str, Any]) -> list[str]:
    """Every problem of a modal or App Home view; empty when it is valid."""
    kind = view.get("type")
    check = _Checker(str(kind))
    if kind not in ("modal", "home"):
        check.fail("type", f"{kind!r}, expected modal or home")
    if kind == "modal":
        check.text("title", view.get("title"), MAX_VIEW_TITLE, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                check.text(button, view[button], MAX_VIEW_TITLE, plain_only=True)
    for name in ("callback_id", "external_id"):
        if view.get(name):
            check.length(name, view[name], MAX_ID_CHARS)
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        check.fail("private_metadata", f"over {MAX_PRIVATE_METADATA} characters")
    _check_blocks(check, view.get("blocks"), MAX_VIEW_BLOCKS)
    return check.problems


def check_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload unchanged, or BlockKitError naming every problem."""
    problems = message_problems(payload)
    if problems:
        raise BlockKitError(problems)
    return payload


def check_view(view: dict[str, Any]) -> dict[str, Any]:
    problems = view_problems(view)
    if problems:
        raise BlockKitError(problems)
    return view
