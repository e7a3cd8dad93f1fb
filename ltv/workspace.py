"""Per-workspace settings: the LTV period and lifespan, currency and orders channels.

Defaults come from the operator's environment; admins override them per
tenant, and the overrides live in the tenant's ``config`` hash in Redis.
"""

from __future__ import annotations

import json
import threading
import time
from fractions import Fraction
from typing import Literal

import redis
from pydantic import BaseModel, ConfigDict, Field

from ltv.formula import LtvPolicy
from ltv.keys import TenantKeys

CONFIG_FIELD = "workspace"
CACHE_SECONDS = 5.0


class WorkspaceConfig(BaseModel):
    """How one workspace measures value, and where its order notices are posted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: Literal["day", "week", "month", "year"] = "month"
    lifespan: str = "36"
    base_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    rates: dict[str, str] = Field(default_factory=dict)
    orders_channels: tuple[str, ...] = ()

    def policy(self, auto_lifespan_periods: Fraction | None = None) -> LtvPolicy:
        """The formula's policy; ``auto`` uses the estimate given, else 36 periods."""
        if self.lifespan == "auto":
            lifespan = auto_lifespan_periods or Fraction(36)
        else:
            lifespan = Fraction(self.lifespan)
        return LtvPolicy(period=self.period, lifespan_periods=lifespan)

    def is_orders_channel(self, channel: str | None) -> bool:
        return channel is not None and channel in self.orders_channels


class WorkspaceConfigStore:
    """Reads and writes workspace settings, with a short in-process cache."""

    def __init__(self, client: redis.Redis, *, defaults: WorkspaceConfig) -> None:
        self.redis = client
        self.defaults = defaults
        self._cache: dict[str, tuple[float, WorkspaceConfig]] = {}
        self._lock = threading.Lock()

    def load(self, tenant: str) -> WorkspaceConfig:
        with self._lock:
            cached = self._cache.get(tenant)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        raw = self.redis.hget(TenantKeys(tenant).config, CONFIG_FIELD)
        overrides = json.loads(raw) if raw else {}
        config = WorkspaceConfig.model_validate(
            {**self.defaults.model_dump(), **overrides}
        )
        with self._lock:
            self._cache[tenant] = (time.monotonic(), config)
        return config

    def save_overrides(self, tenant: str, **changes: object) -> WorkspaceConfig:
        """Validate and store changes; nothing is written if any value is bad."""
        current = self.load(tenant)
        updated = WorkspaceConfig.model_validate({**current.model_dump(), **changes})
        stored = updated.model_dump(mode="json", exclude_defaults=False)
        self.redis.hset(TenantKeys(tenant).config, CONFIG_FIELD, json.dumps(stored))
        with self._lock:
            self._cache.pop(tenant, None)
        return updated
