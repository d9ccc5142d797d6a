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
