"""What the listeners share: built once by the composition root, passed down."""

from __future__ import annotations

from dataclasses import dataclass

from bot.roles import RoleResolver
from ltv.clock import Clock
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfigStore


@dataclass(frozen=True)
class BotContext:
    store: LtvStore
    configs: WorkspaceConfigStore
    roles: RoleResolver
    clock: Clock
