"""The nightly refit: every tenant fitted once, failures reported, never raised."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from ltv.keys import TenantKeys
from ltv.model_store import ModelStore
from strategies import model_refit
from strategies.model_refit import (
    REFIT_JOB_ID,
    ModelRefitter,
    install_refitter,
    refit_models_job,
    schedule_model_refit,
)
from tests.ltv.test_model_store import record_purchase


def test_a_tenant_with_too_little_history_is_reported_not_raised(
    store, redis_client, tenant, clock
):
    record_purchase(store, tenant, "U0ONE0001", clock.now_s() - 86_400, 100, "a")
    refitter = ModelRefitter(
        redis_client,
        models=ModelStore(redis_client, clock=clock),
        tenants=lambda: [tenant],
    )

    reports = refitter.run()

    assert [(r.tenant, r.outcome) for r in reports] == [(tenant, "not_enough_history")]
    assert redis_client.hget(TenantKeys(tenant).model, "last_error") is not None
    assert redis_client.exists(TenantKeys(tenant).lock("model_refit")) == 0


def test_a_tenant_being_refitted_elsewhere_is_skipped(redis_client, tenant, clock):
    redis_client.set(TenantKeys(tenant).lock("model_refit"), "other", px=60_000)
    refitter = ModelRefitter(
        redis_client,
        models=ModelStore(redis_client, clock=clock),
        tenants=lambda: [tenant],
    )

    assert [r.outcome for r in refitter.run()] == ["skipped_locked"]
    assert redis_client.exists(TenantKeys(tenant).model) == 0


def test_the_job_is_registered_nightly_with_a_stable_id(store):
    scheduler = BackgroundScheduler()

    schedule_model_refit(scheduler, store, "UTC")

    job = scheduler.get_job(REFIT_JOB_ID)
    assert job.func is refit_models_job
    assert (
        str(job.trigger)
        == "cron[month='*', day='*', day_of_week='*', hour='3', minute='30']"
    )
    install_refitter(None)


def test_the_job_never_raises_when_a_refit_fails(caplog):
    class Broken:
        def run(self):
            raise RuntimeError("boom")

    install_refitter(Broken())  # type: ignore[arg-type]
    try:
        refit_models_job()
    finally:
        install_refitter(None)

    assert "model refit job failed" in caplog.text
    assert model_refit._refitter is None
