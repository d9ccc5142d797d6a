"""The flight timetable: a pure, deterministic function of the search."""

from __future__ import annotations

import re

import pytest

from qvl_agent.envs.sim import CITIES, booking_code, flights_for



def test_the_same_search_gives_the_same_flights_in_any_case():
    flights = flights_for("Oslo", "Vienna", "2025-06-01")
    assert flights == flights_for(" oslo ", "VIENNA", "2025-06-01")
    assert 3 <= len(flights) <= 5
    assert [f.departs for f in flights] == sorted(f.departs for f in flights)
    for flight in flights:
        assert re.fullmatch(r"QV\d{3}", flight.number)
        assert flight.departs < flight.arrives and flight.price_text == f"${flight.price}"
        assert (flight.origin, flight.destination, flight.date) == ("Oslo", "Vienna", "2025-06-01")


def timetable(origin: str, destination: str, date: str) -> tuple:
    """What a search shows apart from the search itself: numbers, times and prices."""
    return tuple((f.number, f.departs, f.arrives, f.price) for f in flights_for(origin, destination, date))


def test_different_searches_give_different_flights():
    # Compared without the cities and the date, which differ by construction.
    routes = {timetable(a, b, "2025-06-01") for a in CITIES for b in CITIES if a != b}
    assert len(routes) == len(CITIES) * (len(CITIES) - 1)
    days = {timetable("Oslo", "Vienna", f"2025-06-{day:02d}") for day in range(1, 31)}
    assert len(days) == 30
    assert timetable("Oslo", "Vienna", "2025-06-01") != timetable("Vienna", "Oslo", "2025-06-01")


@pytest.mark.parametrize(("origin", "destination", "date"), [
    ("Oslo", "Gotham", "2025-06-01"), ("Oslo", "Oslo", "2025-06-01"),
    ("Oslo", "Rome", "2025-13-01"), ("Oslo", "Rome", "2025-6-1"), ("Oslo", "Rome", ""),
])
def test_searches_that_find_nothing(origin, destination, date):
    assert flights_for(origin, destination, date) == []


def test_booking_codes_are_six_unambiguous_characters():
    flight = flights_for("Rome", "Lisbon", "2025-01-02")[0]
    codes = {booking_code(flight, n) for n in range(1, 50)}
    assert len(codes) == 49
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", code) for code in codes)
