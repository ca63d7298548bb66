"""A project's analytics period (its whole life by default) and the bucket that keeps a series short."""

from datetime import UTC, date, datetime, timedelta

import pytest

from maestro.domain.errors import InvalidInput
from maestro.domain.periods import MAX_SERIES_POINTS, ProjectLife, resolve_period, series_bucket

NOW = datetime(2026, 12, 4, tzinfo=UTC)
CREATED = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_life_runs_from_the_earlier_of_start_date_and_first_event_to_the_end_or_now():
    first = datetime(2011, 3, 1, tzinfo=UTC)
    running = ProjectLife(date(2012, 1, 1), None, CREATED, first, datetime(2025, 1, 1, tzinfo=UTC))
    assert running.span(NOW) == (first, NOW)
    done = ProjectLife(date(2021, 1, 4), datetime(2021, 3, 25, tzinfo=UTC), CREATED)
    assert done.span(NOW) == (datetime(2021, 1, 4, tzinfo=UTC), datetime(2021, 3, 25, tzinfo=UTC))
    late_event = datetime(2021, 5, 1, tzinfo=UTC)
    stretched = ProjectLife(date(2021, 1, 4), datetime(2021, 3, 25, tzinfo=UTC), CREATED, None, late_event)
    assert stretched.span(NOW)[1] == late_event + timedelta(seconds=1)
    assert ProjectLife(None, None, CREATED).span(NOW) == (CREATED, NOW)


def test_a_given_bound_is_kept_and_the_other_comes_from_the_life():
    life = ProjectLife(date(2015, 1, 1), None, CREATED)
    to = datetime(2016, 1, 1, tzinfo=UTC)
    assert resolve_period(None, to, life, NOW) == (datetime(2015, 1, 1, tzinfo=UTC), to)
    assert resolve_period(to, None, life, NOW) == (to, NOW)
    with pytest.raises(InvalidInput):
        resolve_period(NOW, NOW - timedelta(days=1), life, NOW)
    fifteen_years = resolve_period(datetime(2010, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC), None, NOW)
    assert fifteen_years[0].year == 2010
    with pytest.raises(InvalidInput):
        resolve_period(datetime(1900, 1, 1, tzinfo=UTC), NOW, None, NOW)


@pytest.mark.parametrize(
    "days, requested, expected",
    [
        (30, None, "day"),
        (366, None, "day"),
        (800, None, "week"),
        (800, "day", "week"),
        (30, "month", "month"),
        (15 * 366, None, "month"),
        (15 * 366, "week", "month"),
    ],
)
def test_the_bucket_coarsens_to_keep_a_few_hundred_points(days, requested, expected):
    start = datetime(2010, 1, 1, tzinfo=UTC)
    bucket = series_bucket(start, start + timedelta(days=days), requested)
    assert bucket == expected
    points = days / {"day": 1, "week": 7, "month": 30.4}[bucket]
    assert points <= MAX_SERIES_POINTS


def test_an_unknown_bucket_is_refused():
    with pytest.raises(InvalidInput):
        series_bucket(NOW - timedelta(days=1), NOW, "hour")
