"""The composition root: builds Redis, store, clock, Slack client, app and scheduler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import build_app
from bot.embedded_redis import EmbeddedRedis
from bot.messenger import SlackMessenger, build_web_client
from bot.redis_urls import cluster_client, is_cluster_url
from bot.roles import RoleResolver
from bot.runtime import BotContext
from bot.settings import Settings
from ltv.clock import Clock, SystemClock
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfig, WorkspaceConfigStore
from strategies.config import STRATEGIES, load_file
from strategies.model_refit import schedule_model_refit
from strategies.scheduling import (
    ScheduleSync,
    StrategyRunner,
    build_scheduler,
    install_runner,
    install_sync,
    schedule_strategy,
    schedule_sync,
)
from strategies.service import StrategyService, build_strategies

logger = logging.getLogger(__name__)

# Slack waits 3 s for an answer. A command on a hung server can wait for a
# socket timeout on the connection handshake and on the reply, each tried twice
# (about 4 timeouts and 2 backoffs: 2.2 s), so a hung Redis yields a 500, and
# Slack's retry, before Slack gives up on the request.
REDIS_TIMEOUT_S = 0.5
REDIS_RETRIES = 1
REDIS_BACKOFF_CAP_S = 0.1


class ConfigurationError(ValueError):
    """A setting the chosen mode needs is missing."""


def redis_client_for(url: str, *, cluster: bool = False) -> redis.Redis:
    """A client with timeouts and retries, so a blip is survived, not fatal."""
    if cluster or is_cluster_url(url):
        return cluster_client(
            url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        retry=Retry(
            ExponentialBackoff(cap=REDIS_BACKOFF_CAP_S, base=0.05),
            retries=REDIS_RETRIES,
        ),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )


def open_redis(settings: Settings) -> tuple[redis.Redis, EmbeddedRedis | None]:
    """The configured Redis, or an embedded one keeping its data under LTV_DATA_DIR."""
    if settings.redis_url:
        return redis_client_for(
            settings.redis_url, cluster=settings.redis_cluster
        ), None
    embedded = EmbeddedRedis(Path(settings.data_dir) / "redis").start()
    return redis_client_for(embedded.url), embedded


def workspace_defaults(settings: Settings) -> WorkspaceConfig:
    return WorkspaceConfig(
        period=settings.period,
        lifespan=settings.lifespan_periods,
        base_currency=settings.base_currency,
        orders_channels=tuple(settings.orders_channels),
    )


@dataclass
class Runtime:
    """Everything one bot process runs, and how to stop it cleanly."""

    settings: Settings
    redis: redis.Redis
    store: LtvStore
    client: WebClient
    ctx: BotContext
    app: App
    runner: StrategyRunner
    scheduler: BackgroundScheduler
    strategies: StrategyService | None = None
    embedded: EmbeddedRedis | None = None
    closed: bool = field(default=False)

    @property
    def signing_secret(self) -> str:
        """Checked when the runtime was built; every HTTP server verifies with it."""
        return _required(self.settings.slack_signing_secret, "SLACK_SIGNING_SECRET")

    def start_scheduler(self, *, every_seconds: int | None = None) -> None:
        """Jobs from the admins' schedules, re-read every few seconds.

        ``every_seconds`` instead runs onboarding for every tenant on that
        interval (the demo's fast replay).
        """
        install_runner(self.runner)
        schedule_model_refit(
            self.scheduler,
            self.store,
            self.settings.scheduler_timezone,
            self.settings.model_refit_cron,
        )
        if every_seconds or self.strategies is None:
            schedule_strategy(
                self.scheduler,
                "onboarding",
                self.settings.onboarding_cron,
                self.settings.scheduler_timezone,
                every_seconds=every_seconds,
            )
        else:
            sync = ScheduleSync(
                self.scheduler, runner=self.runner, configs=self.strategies.configs
            )
            install_sync(sync)
            schedule_sync(self.scheduler, self.settings.schedule_sync_seconds)
            self.scheduler.start()
            sync.sync()
            return
        self.scheduler.start()
        logger.info(
            "scheduler started jobs=%s", [j.id for j in self.scheduler.get_jobs()]
        )

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        install_runner(None)
        install_sync(None)
        self.redis.close()
        if self.embedded is not None:
            self.embedded.stop()


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    redis_client: redis.Redis | None = None,
    tenants: Callable[[], list[str]] | None = None,
) -> Runtime:
    """Build every part once and pass them down; nothing else reads the environment."""
    signing_secret = _required(settings.slack_signing_secret, "SLACK_SIGNING_SECRET")
    token = _required(settings.slack_bot_token, "SLACK_BOT_TOKEN")
    clock = clock or SystemClock()
    embedded = None
    if redis_client is None:
        redis_client, embedded = open_redis(settings)
    store = LtvStore(redis_client, clock=clock)
    client = build_web_client(token, settings.slack_api_url)
    workspaces = WorkspaceConfigStore(
        redis_client, defaults=workspace_defaults(settings)
    )
    strategies = build_strategies(
        redis_client,
        clock=clock,
        store=store,
        workspaces=workspaces,
        messenger=SlackMessenger(client),
        tenants=tenants or store.tenants,
        initial=initial_strategy_settings(settings),
    )
    ctx = BotContext(
        store=store,
        configs=workspaces,
        roles=RoleResolver(
            client,
            admin_users=frozenset(settings.admin_users),
            agent_users=frozenset(settings.agent_users),
            agent_usergroup=settings.agent_usergroup,
        ),
        clock=clock,
        strategies=strategies,
    )
    app = build_app(ctx, client=client, signing_secret=signing_secret)
    runner = strategies.runner
    return Runtime(
        settings=settings,
        redis=redis_client,
        store=store,
        client=client,
        ctx=ctx,
        app=app,
        runner=runner,
        scheduler=build_scheduler(),
        strategies=strategies,
        embedded=embedded,
    )


def initial_strategy_settings(settings: Settings) -> dict[str, dict[str, object]]:
    """Schedules from the environment, then the strategies file on top."""
    initial: dict[str, dict[str, object]] = {
        name: {"timezone": settings.scheduler_timezone} for name in STRATEGIES
    }
    initial["onboarding"]["cron"] = settings.onboarding_cron
    for name, values in load_file(settings.strategies_file).items():
        initial.setdefault(name, {}).update(values)
    return initial


def _required(secret: object, name: str) -> str:
    value = secret.get_secret_value() if secret is not None else ""  # type: ignore[attr-defined]
    if not value:
        raise ConfigurationError(
            f"{name} is not set; copy .env.example to .env and fill it in, "
            "or run `ltv-bot demo` to try the bot locally"
        )
    return value
