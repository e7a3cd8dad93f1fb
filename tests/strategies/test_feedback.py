"""Feedback ratings: stored once per question, averaged for /ltv stats."""

from __future__ import annotations

import pytest

from strategies.feedback import RatingError, feedback_averages, record_rating


def rate(redis_client, tenant, slot: str, kind: str, score: int, user="UCUST00001"):
    return record_rating(
        redis_client,
        tenant,
        user=user,
        kind=kind,
        score=score,
        slot=slot,
        agent="UAGENT0001",
        at_s=1_704_067_200,
    )


def test_no_answers_means_no_averages(redis_client, tenant):
    assert feedback_averages(redis_client, tenant) == {
        "csat_average": None,
        "csat_count": 0,
        "nps": None,
        "nps_count": 0,
    }


def test_csat_average_and_nps_from_promoters_and_detractors(redis_client, tenant):
    for n, (csat, nps) in enumerate([(5, 10), (4, 9), (3, 7), (2, 3)]):
        rate(redis_client, tenant, f"ask:U{n}", "csat", csat)
        rate(redis_client, tenant, f"ask:U{n}", "nps", nps)

    averages = feedback_averages(redis_client, tenant)

    assert averages["csat_average"] == pytest.approx(3.5)
    assert averages["nps"] == pytest.approx(100 * (2 - 1) / 4)
    assert (averages["csat_count"], averages["nps_count"]) == (4, 4)


def test_a_second_click_on_the_same_question_changes_nothing(redis_client, tenant):
    first = rate(redis_client, tenant, "ask:once", "csat", 5)
    second = rate(redis_client, tenant, "ask:once", "csat", 1)

    assert (first, second) == (True, False)
    assert feedback_averages(redis_client, tenant)["csat_average"] == 5


@pytest.mark.parametrize(
    ("kind", "score"), [("csat", 0), ("csat", 6), ("nps", 11), ("x", 1)]
)
def test_a_rating_off_its_scale_is_refused(redis_client, tenant, kind, score):
    with pytest.raises(RatingError, match=f"rating {kind}={score} is off the scale"):
        rate(redis_client, tenant, "ask:bad", kind, score)

    assert feedback_averages(redis_client, tenant)["csat_count"] == 0
