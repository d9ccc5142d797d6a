import pytest

from qvl_agent.eval.metrics import rate, wilson_interval


@pytest.mark.parametrize("wins,n,low,high", [
    (0, 10, 0.0, 0.2775),   # published values of the Wilson interval
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (81, 100, 0.7222, 0.8749),
])
def test_wilson_interval(wins, n, low, high):
    got = wilson_interval(wins, n)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_empty_and_invalid():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


def test_rate_reads_as_a_person_would_write_it():
    r = rate([True] * 19 + [False])
    assert (r.successes, r.total, r.value) == (19, 20, 0.95)
    assert str(r) == "95.0% (19/20; 95% CI 76.4-99.1%)"


@pytest.mark.parametrize("wins,n,low,high", [
    (1, 1, 0.2065, 1.0),  # one run: not the (0, 1) of an empty one
    (0, 1, 0.0, 0.7935),
    (1, 10, 0.0179, 0.4042),  # one success: its lower bound is above 0
])
def test_wilson_interval_of_the_smallest_runs(wins, n, low, high):
    assert wilson_interval(wins, n) == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize("n", [4, 10, 14, 19, 24, 69])
def test_all_or_nothing_bounds_are_exactly_0_and_1(n):
    # The formula gives 0.9999999999999999 (or 3.5e-18 for n=69) for these n: a run of n
    # successes must say exactly 1, and of none exactly 0.
    assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0


def test_an_impossible_count_names_the_range():
    with pytest.raises(ValueError, match=r"successes must be in \[0, 2\], got 3"):
        wilson_interval(3, 2)
    with pytest.raises(ValueError, match=r"got -1"):
        wilson_interval(-1, 2)


def test_a_rate_of_nothing_reads_n_a():
    assert str(rate([])) == "n/a" and rate([]).value == 0.0
