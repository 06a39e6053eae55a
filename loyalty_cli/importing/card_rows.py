"""Card rows: the valid rows of a cards file as columns, and one card (`Card`) when it needs care.

Columns travel well (the reader process sends them down its pipe as lists) and cost little a
row; a `Card` is made only for a row that is merged, updates a customer or owes vouchers.
"""

import hashlib
from dataclasses import dataclass, field


@dataclass(slots=True)
class Card:
    line: int
    phone: str
    name: str | None
    email: str | None
    note: str | None
    last_visit: str | None  # as stored (UTC)
    punches: int
    points: int
    credit: int
    owed: dict  # reward id -> count
    birthday: str | None = None  # as stored (domain/birthdays.py)
    lines: list = field(default_factory=list)  # every line merged into this card

    def merge(self, other: "Card") -> None:
        self.punches += other.punches
        self.points += other.points
        self.credit += other.credit
        for reward, count in other.owed.items():
            self.owed[reward] = self.owed.get(reward, 0) + count
        self.name = self.name or other.name
        self.email = self.email or other.email
        self.birthday = self.birthday or other.birthday
        if other.note and other.note != self.note:
            self.note = f"{self.note} / {other.note}" if self.note else other.note
        if other.last_visit and (not self.last_visit or other.last_visit > self.last_visit):
            self.last_visit = other.last_visit
        self.lines += other.lines

    def digest(self, card: str) -> str:
        return card_digest(self.phone, card, self.punches, self.points, self.credit, self.owed)


def card_digest(phone: str, card: str, punches: int, points: int, credit: int, owed: dict | None = None) -> str:
    """What a re-run must find unchanged: the balances carried over (names may be edited)."""
    owed = ",".join(f"{reward}={count}" for reward, count in sorted(owed.items())) if owed else ""
    content = f"{phone}\x1f{card}\x1f{punches}\x1f{points}\x1f{credit}\x1f{owed}"
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


class CardRows:
    """Valid card rows as columns (FIELDS order), with each row's line."""

    FIELDS = ("line", "phone", "name", "email", "note", "last_visit", "punches", "points", "credit", "owed", "digest",
              "birthday", "marketing")  # marketing: 1, 0 or None (no consent said on the row)

    def __init__(self):
        for name in self.FIELDS:
            setattr(self, name, [])
        self.last_line = 0  # of the batch, rejected rows included

    def pack(self) -> tuple:
        return self.last_line, [list(getattr(self, name)) for name in self.FIELDS]

    @classmethod
    def unpack(cls, packed: tuple) -> "CardRows":
        columns = cls()
        columns.last_line, values = packed
        for name, value in zip(cls.FIELDS, values, strict=True):
            setattr(columns, name, value)
        return columns

    def extend(self, other: "CardRows") -> None:
        for name in self.FIELDS:
            getattr(self, name).extend(getattr(other, name))

    def card(self, i: int) -> Card:
        return Card(self.line[i], self.phone[i], self.name[i], self.email[i], self.note[i], self.last_visit[i],
                     self.punches[i], self.points[i], self.credit[i], dict(self.owed[i] or {}), self.birthday[i],
                     [self.line[i]])
