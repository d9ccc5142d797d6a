"""Flights: search by From, To and Date, pick a flight, book it, get a booking code.

The timetable is a pure function of the search (``flights_for``), so a task can compute the
right answer from its parameters. Bookings live in the ``bookings`` table, served as
``content://com.qvl.flights/bookings`` (``_id``, ``origin``, ``destination``, ``date``,
``flight``, ``price``, ``code``).
"""

from __future__ import annotations

import datetime
import hashlib
import random
import re
from dataclasses import dataclass

from qvl_agent.envs.sim.apps.base import App, Host, ListState, Screen
from qvl_agent.envs.sim.apps.layout import (
    CONTENT_TOP, SECONDARY, app_bar, button, edit_text, list_view, row, text_view,
)
from qvl_agent.envs.sim.store import ProviderUri, Table
from qvl_agent.envs.sim.widgets import SCREEN_W, Rect, Widget

__all__ = ["FLIGHTS", "TABLE", "CITIES", "Flight", "flights_for", "booking_code", "city"]

PACKAGE = "com.qvl.flights"
BAR = "#C5221F"
ROW_H = 200
_ID = f"{PACKAGE}:id/"
CITIES = ("Berlin", "Lisbon", "Madrid", "Oslo", "Paris", "Prague", "Rome", "Vienna")
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O or 1/I to misread

TABLE = Table("bookings", PACKAGE, (("origin", "TEXT"), ("destination", "TEXT"),
                                    ("date", "TEXT"), ("flight", "TEXT"),
                                    ("price", "INTEGER"), ("code", "TEXT")),
              uris=(ProviderUri("content://com.qvl.flights/bookings"),))


@dataclass(frozen=True)
class Flight:
    """One flight of a search's results."""

    number: str         # "QV123"
    origin: str         # a city of CITIES
    destination: str
    date: str           # YYYY-MM-DD
    departs: str        # HH:MM, 24 h
    arrives: str
    price: int          # US dollars

    @property
    def price_text(self) -> str:
        return f"${self.price}"

    @property
    def times(self) -> str:
        return f"{self.departs} → {self.arrives}"


def city(name: str) -> str | None:
    """The city ``name`` means (any case, spaces around ignored), or None if not served."""
    wanted = name.strip().casefold()
    return next((known for known in CITIES if known.casefold() == wanted), None)


def _valid_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def flights_for(origin: str, destination: str, date: str) -> list[Flight]:
    """The 3-5 flights the app lists for a search, by departure; [] when it finds none.

    Cities match case-insensitively; an unknown city, the same city twice or a date that is
    not a real YYYY-MM-DD day finds nothing. The same search always gives the same flights.
    """
    start, end, day = city(origin), city(destination), date.strip()
    if start is None or end is None or start == end or not _valid_date(day):
        return []
    digest = hashlib.sha256(f"{start}|{end}|{day}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    count = rng.randint(3, 5)
    numbers = rng.sample(range(100, 1000), count)
    departures = sorted(rng.sample(range(6 * 12, 20 * 12), count))    # 5-minute slots
    flights = []
    for number, slot in zip(numbers, departures):
        minutes = slot * 5 + rng.randrange(13, 43) * 5                  # 1h05 to 3h30 later
        flights.append(Flight(
            number=f"QV{number}", origin=start, destination=end, date=day,
            departs=f"{slot * 5 // 60:02d}:{slot * 5 % 60:02d}",
            arrives=f"{minutes // 60:02d}:{minutes % 60:02d}", price=rng.randrange(59, 400)))
    return flights


def booking_code(flight: Flight, booking_id: int) -> str:
    """The six-character code shown for booking ``booking_id`` of ``flight``."""
    digest = hashlib.sha256(f"{flight.number}|{flight.date}|{flight.origin}|"
                            f"{flight.destination}|{booking_id}".encode()).digest()
    return "".join(_CODE_LETTERS[b % len(_CODE_LETTERS)] for b in digest[:6])


class FlightSearch(Screen):
    """From, To and Date fields and the Search button."""

    fields = (_ID + "from", _ID + "to", _ID + "date")

    def build(self, host: Host) -> list[Widget]:
        widgets = [app_bar("Flights", BAR)]
        top = CONTENT_TOP + 40
        for rid, label, hint in ((_ID + "from", "From", "From"), (_ID + "to", "To", "To"),
                                 (_ID + "date", "Date", "YYYY-MM-DD")):
            widgets.append(text_view((0, top, SCREEN_W, top + 60), label, size=38,
                                     color=SECONDARY))
            widgets.append(edit_text(self, rid, hint, top + 64))
            top += 260
        widgets.append(button("Search", _ID + "search", top + 40,
                              lambda: host.push(self.results()), colour=BAR))
        return widgets


    def results(self) -> FlightResults:
        return FlightResults(self.values[_ID + "from"], self.values[_ID + "to"],
                             self.values[_ID + "date"])


class FlightResults(Screen):
    """The flights for a search, or "No flights found"."""

    def __init__(self, origin: str, destination: str, date: str) -> None:
        super().__init__()
        self.flights = flights_for(origin, destination, date)
        self.title = (f"{city(origin) or origin.strip()} → "
                      f"{city(destination) or destination.strip()}, {date.strip()}")
        self.list = ListState()

    def build(self, host: Host) -> list[Widget]:
        widgets = [app_bar(self.title, BAR, up=host.pop, rid=_ID + "results_title")]
        if not self.flights:
            widgets.append(text_view((0, CONTENT_TOP + 200, SCREEN_W, CONTENT_TOP + 300),
                                     "No flights found", rid=_ID + "empty", color=SECONDARY,
                                     align="center"))
            return widgets

        def make_row(index: int, bounds: Rect) -> Widget:
            flight = self.flights[index]
            left, top, right, bottom = bounds
            children = [
                text_view((0, top + 24, 760, top + 104), flight.number,
                          rid=_ID + "flight_number", size=50, bold=True),
                text_view((0, top + 110, 760, top + 176), flight.times, rid=_ID + "times",
                          size=42, color=SECONDARY),
                text_view((760, top, right, bottom), flight.price_text, rid=_ID + "price",
                          size=52, bold=True, padding=40),
            ]
            return row(bounds, children, rid=_ID + "flight_row",
                       on_click=lambda: host.push(FlightDetails(flight)))

        widgets.append(list_view(self.list, len(self.flights), make_row, row_height=ROW_H,
                                 rid=_ID + "results"))
        return widgets


class FlightDetails(Screen):
    """One flight and the Book button."""

    def __init__(self, flight: Flight) -> None:
        super().__init__()
        self.flight = flight

    def book(self, host: Host) -> None:
        flight = self.flight
        booking_id = host.data.add(TABLE.name, origin=flight.origin,
                                   destination=flight.destination, date=flight.date,
                                   flight=flight.number, price=flight.price, code="")
        code = booking_code(flight, booking_id)
        host.data.change(TABLE.name, booking_id, code=code)
        host.pop()
        host.push(BookingConfirmation(flight, code))

    def build(self, host: Host) -> list[Widget]:
        flight, top = self.flight, CONTENT_TOP + 60
        return [
            app_bar(flight.number, BAR, up=host.pop, rid=_ID + "flight_title"),
            text_view((0, top, SCREEN_W, top + 90), f"{flight.origin} → {flight.destination}",
                      rid=_ID + "route", size=56, bold=True),
            text_view((0, top + 110, SCREEN_W, top + 180), flight.date, rid=_ID + "flight_date",
                      size=44, color=SECONDARY),
            text_view((0, top + 200, SCREEN_W, top + 270), flight.times, rid=_ID + "times",
                      size=48),
            text_view((0, top + 290, SCREEN_W, top + 370), flight.price_text, rid=_ID + "price",
                      size=56, bold=True),
            button("Book", _ID + "book", top + 460, lambda: self.book(host), colour=BAR),
        ]


class BookingConfirmation(Screen):
    """What a booking got: its code, and Done to go back to a new search."""

    def __init__(self, flight: Flight, code: str) -> None:
        super().__init__()
        self.flight = flight
        self.code = code

    def done(self, host: Host) -> None:
        host.pop()      # this page
        host.pop()      # the results: back to the search

    def build(self, host: Host) -> list[Widget]:
        flight, top = self.flight, CONTENT_TOP + 120
        return [
            app_bar("Booking", BAR, up=host.pop),
            text_view((0, top, SCREEN_W, top + 100), "Booking confirmed", rid=_ID + "status",
                      size=60, bold=True, align="center", color="#188038"),
            text_view((0, top + 140, SCREEN_W, top + 230), f"Code: {self.code}",
                      rid=_ID + "code", size=56, align="center"),
            text_view((0, top + 260, SCREEN_W, top + 330),
                      f"{flight.number} · {flight.origin} → {flight.destination} · "
                      f"{flight.date} · {flight.departs}",
                      rid=_ID + "summary", size=38, align="center", color=SECONDARY),
            button("Done", _ID + "done", top + 420, lambda: self.done(host), colour=BAR),
        ]


FLIGHTS = App(PACKAGE, "Flights", ".MainActivity", colour="#C5221F", root=FlightSearch,
              tables=(TABLE,), bar=BAR, system=False)
