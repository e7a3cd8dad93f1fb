"""Every setting of the bot, read once from the environment at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ltv.formula import PERIOD_SECONDS

# Lists of ids are given comma-separated, not as JSON.
IdList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """The environment, validated; fails fast naming the key and the bad value."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    # REDIS_URL names one node of a Redis Cluster (also: redis+cluster://...).
    redis_cluster: bool = Field(default=False, alias="LTV_REDIS_CLUSTER")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(default=None, alias="SLACK_API_URL")

    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=3000, ge=0, le=65535, alias="PORT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="LOG_LEVEL"
    )
    data_dir: str = Field(default="var", alias="LTV_DATA_DIR")

    period: Literal["day", "week", "month", "year"] = Field(
        default="month", alias="LTV_PERIOD"
    )
    lifespan_periods: str = Field(default="36", alias="LTV_LIFESPAN")
    base_currency: str = Field(default="USD", alias="LTV_BASE_CURRENCY")
    orders_channels: IdList = Field(default_factory=list, alias="LTV_ORDERS_CHANNELS")

    admin_users: IdList = Field(default_factory=list, alias="LTV_ADMIN_USERS")
    agent_users: IdList = Field(default_factory=list, alias="LTV_AGENT_USERS")
    agent_usergroup: str | None = Field(default=None, alias="LTV_AGENT_USERGROUP")

    onboarding_cron: str = Field(default="*/5 * * * *", alias="LTV_ONBOARDING_CRON")
    scheduler_timezone: str = Field(default="UTC", alias="LTV_SCHEDULER_TIMEZONE")
    scheduler_enabled: bool = Field(default=True, alias="LTV_SCHEDULER_ENABLED")
    model_refit_cron: str = Field(default="30 3 * * *", alias="LTV_MODEL_REFIT_CRON")
    strategies_file: str | None = Field(default=None, alias="LTV_STRATEGIES_FILE")
    schedule_sync_seconds: int = Field(
        default=30, ge=1, alias="LTV_SCHEDULE_SYNC_SECONDS"
    )

    @field_validator("orders_channels", "admin_users", "agent_users", mode="before")
    @classmethod
    def _split_channel_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("orders_channels")
    @classmethod
    def _check_channel_ids(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not channel.startswith(("C", "G", "D")) or not channel.isalnum():
                raise ValueError(
                    f"LTV_ORDERS_CHANNELS holds {channel!r}; expected channel ids "
                    "such as C0123ABCD, separated by commas"
                )
        return value

    @field_validator("admin_users", "agent_users")
    @classmethod
    def _check_user_ids(cls, value: list[str]) -> list[str]:
        for user in value:
            if not user.startswith(("U", "W")) or not user.isalnum():
                raise ValueError(
                    f"user list holds {user!r}; expected Slack user ids such as "
                    "U0123ABCD, separated by commas"
                )
        return value

    @field_validator("lifespan_periods")
    @classmethod
    def _check_lifespan(cls, value: str) -> str:
        if value == "auto":
            return value
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not number > 0:
            raise ValueError(
                f"LTV_LIFESPAN is {value!r}; expected a positive number of periods "
                "or 'auto'"
            )
        return value

    @field_validator("base_currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(
                f"LTV_BASE_CURRENCY is {value!r}; expected an ISO 4217 code like USD"
            )
        return value.upper()

    @property
    def period_seconds(self) -> int:
        return PERIOD_SECONDS[self.period]
