"""The scheduled refit of every tenant's predictive model (nightly by default).

The job function lives at module level and takes no arguments, so the job
store never pickles a live object; the running process installs its refitter
once at start-up, as the strategy runner does.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis
from apscheduler.schedulers.base import BaseScheduler

from ltv.errors import ModelFitError
from ltv.keys import TenantKeys
from ltv.model_store import ModelStore
from strategies.scheduling import MISFIRE_GRACE_S, parse_cron

logger = logging.getLogger(__name__)

DEFAULT_REFIT_CRON = "30 3 * * *"
REFIT_JOB_ID = "model:refit"
REFIT_LOCK_TTL_MS = 30 * 60 * 1000


@dataclass(frozen=True, slots=True)
class RefitReport:
    tenant: str
    outcome: str


class ModelRefitter:
    """Refits each tenant once, holding a per-tenant lock across processes."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        models: ModelStore,
        tenants: Callable[[], list[str]],
    ) -> None:
        self.redis = client
        self.models = models
        self._tenants = tenants

    def run(self) -> list[RefitReport]:
        return [self.refit(tenant) for tenant in self._tenants()]

    def refit(self, tenant: str) -> RefitReport:
        key = TenantKeys(tenant).lock("model_refit")
        token = uuid.uuid4().hex
        if not self.redis.set(key, token, nx=True, px=REFIT_LOCK_TTL_MS):
            return RefitReport(tenant, "skipped_locked")
        try:
            self.models.fit(tenant)
        except ModelFitError:
            return RefitReport(tenant, "not_enough_history")
        finally:
            if self.redis.get(key) == token.encode():
                self.redis.delete(key)
        return RefitReport(tenant, "fitted")


_refitter_lock = threading.Lock()
_refitter: ModelRefitter | None = None


def install_refitter(refitter: ModelRefitter | None) -> None:
    global _refitter
    with _refitter_lock:
        _refitter = refitter


def refit_models_job() -> None:
    """The scheduled job: never raises, so a bad fit cannot stop the scheduler."""
    with _refitter_lock:
        refitter = _refitter
    if refitter is None:
        logger.warning("model refit job has no refitter")
        return
    try:
        reports = refitter.run()
    except Exception:
        logger.exception("model refit job failed")
        return
    logger.info(
        "model refit run tenants=%s fitted=%s",
        len(reports),
        sum(r.outcome == "fitted" for r in reports),
    )


def schedule_model_refit(
    scheduler: BaseScheduler,
    store,  # type: ignore[no-untyped-def]
    timezone: str,
    cron: str = DEFAULT_REFIT_CRON,
) -> None:
    """Install this process's refitter and add (or replace) the nightly job."""
    models = ModelStore(store.redis, clock=store.clock)
    install_refitter(ModelRefitter(store.redis, models=models, tenants=store.tenants))
    scheduler.add_job(
        refit_models_job,
        trigger=parse_cron(cron, timezone),
        id=REFIT_JOB_ID,
        name="predictive model refit",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_S,
    )
