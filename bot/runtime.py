"""What the listeners share: built once by the composition root, passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.roles import RoleResolver
from ltv.clock import Clock
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfigStore

if TYPE_CHECKING:
    from strategies.service import StrategyService


@dataclass(frozen=True)
class BotContext:
    store: LtvStore
    configs: WorkspaceConfigStore
    roles: RoleResolver
    clock: Clock
    strategies: StrategyService | None = None
