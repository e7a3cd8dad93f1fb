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
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ltv.formula import PERIOD_SECONDS, LtvPolicy
from ltv.keys import TenantKeys
from ltv.money import Money, convert

CONFIG_FIELD = "workspace"
CACHE_SECONDS = 5.0
LIFESPAN_FIELD = "lifespan_days"


class WorkspaceConfig(BaseModel):
    """How one workspace measures value, and where its order notices are posted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: Literal["day", "week", "month", "year"] = "month"
    lifespan: str = "36"
    base_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    rates: dict[str, str] = Field(default_factory=dict)
    orders_channels: tuple[str, ...] = ()
    # The fitted model's lifespan estimate in days, filled in by the config store
    # when ``lifespan`` is ``auto``; never saved as a setting.
    estimated_lifespan_days: float | None = Field(default=None, exclude=True, gt=0)

    @model_validator(mode="after")
    def _rates_are_usable(self) -> WorkspaceConfig:
        """Every rate must convert: a known code and an exact positive decimal."""
        for code, rate in self.rates.items():
            if code != code.upper() or code == self.base_currency:
                raise ValueError(
                    f"exchange rate key {code!r} must be an upper-case currency "
                    f"code other than the base currency {self.base_currency}"
                )
            convert(Money(0, code), self.base_currency, {code: rate})
        return self

    def policy(self, auto_lifespan_periods: Fraction | None = None) -> LtvPolicy:
        """The formula's policy; ``auto`` uses the estimate given, else the fitted
        model's estimate, else 36 periods."""
        if self.lifespan == "auto":
            lifespan = (
                auto_lifespan_periods
                or self._estimated_lifespan_periods()
                or Fraction(36)
            )
        else:
            lifespan = Fraction(self.lifespan)
        return LtvPolicy(period=self.period, lifespan_periods=lifespan)

    def _estimated_lifespan_periods(self) -> Fraction | None:
        if self.estimated_lifespan_days is None:
            return None
        days = Fraction(self.estimated_lifespan_days).limit_denominator(10_000)
        return days * 86_400 / PERIOD_SECONDS[self.period]

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
        config = self._merge(self._overrides(tenant))
        if config.lifespan == "auto":
            config = config.model_copy(
                update={"estimated_lifespan_days": self._lifespan_days(tenant)}
            )
        with self._lock:
            self._cache[tenant] = (time.monotonic(), config)
        return config

    def _overrides(self, tenant: str) -> dict[str, object]:
        raw = self.redis.hget(TenantKeys(tenant).config, CONFIG_FIELD)
        return json.loads(raw) if raw else {}

    def _merge(self, overrides: dict[str, object]) -> WorkspaceConfig:
        """The operator's defaults with the admins' overrides, validated as one."""
        defaults = self.defaults.model_dump(mode="json")
        return WorkspaceConfig.model_validate({**defaults, **overrides})

    def _lifespan_days(self, tenant: str) -> float | None:
        raw = self.redis.hget(TenantKeys(tenant).model, LIFESPAN_FIELD)
        return float(raw) if raw is not None else None

    def save_overrides(self, tenant: str, **changes: object) -> WorkspaceConfig:
        """Validate and store changes; nothing is written if any value is bad.

        Only the overridden settings are stored, so the operator's defaults
        still apply to everything an admin has not changed.
        """
        overrides = {**self._overrides(tenant), **changes}
        updated = self._merge(overrides)
        stored = {
            name: value
            for name, value in updated.model_dump(mode="json").items()
            if name in overrides
        }
        self.redis.hset(TenantKeys(tenant).config, CONFIG_FIELD, json.dumps(stored))
        with self._lock:
            self._cache.pop(tenant, None)
        return updated
