"""The import's parts on their own: phone fast path, dates, values, columns, file sniffing."""

import codecs
import hashlib
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_cli.config.load import load
from loyalty_cli.domain import phones
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.text import tidy
from loyalty_cli.importing.columns import Columns, guess, normalise
from loyalty_cli.importing.phones import Normaliser
from loyalty_cli.importing.sources import open_source
from loyalty_cli.importing.values import CellError, Dates, Rewards, friendly_format, texts, whole

ROME = ZoneInfo("Europe/Rome")


# ---- phones: the fast path must say exactly what phonenumbers says ---------------------------

def authority(text, region):
    try:
        return phones.normalise(text, region)
    except BadInput as exc:
        return f"error: {exc}"


def fast(text, region):
    try:
        return Normaliser(region)(text)
    except BadInput as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("text, region, e164", [
    ("333 123 4567", "IT", "+393331234567"),
    ("+39 333 123 4567", "IT", "+393331234567"),
    ("0039 333-123-4567", "IT", "+393331234567"),
    ("(333) 1234567", "IT", "+393331234567"),
    ("06 1234 5678", "IT", "+390612345678"),  # Rome landline keeps its 0
    ("06 30 123 4567", "HU", "+36301234567"),
    ("06-1-234-5678", "HU", "+3612345678"),
    ("+36 30 123 4567", "HU", "+36301234567"),
    ("612 34 56 78", "ES", "+34612345678"),
    ("0034 612.34.56.78", "ES", "+34612345678"),
    ("+44 (0)20 7946 0018", "GB", "+442079460018"),
    ("+34 612 34 56 78", None, "+34612345678"),
    ("01599123456", "IL", "error: not a phone number: '01599123456'"),  # 015: an international prefix
    ("050-234-5678", "IL", "+972502345678"),
])
def test_known_numbers(text, region, e164):
    assert fast(text, region) == authority(text, region) == e164


def test_errors_are_the_authority_s_own_words():
    assert fast("12345", "IT") == authority("12345", "IT")
    assert fast("333 123 4567", None).startswith("error: cannot tell which country")
    assert fast("call me", "IT") == authority("call me", "IT")


PLAIN = st.text(alphabet="0123456789 -./()", min_size=4, max_size=18)
# International prefixes that are patterns, not digits: Israel's 0(?:0|1(?:05|[2-9])) (015, 0105),
# Australia's 0011 and 14xx0011, Brazil's 00 + carrier, Korea's, Singapore's 0[0-3]\d, Russia's 810.
IDD_PATTERNS = ["015", "0105", "012 ", "0011", "14880011", "0021", "001", "0033", "810", "010"]
PREFIXES = st.sampled_from(["", "+39 ", "0039", "+36", "06 ", "+34 ", "0034 ", "+44 ", "+1 ", "3", "0",
                            *IDD_PATTERNS])
REGIONS = st.sampled_from(["IT", "HU", "ES", "GB", "DE", "FR", "US", "AR", "BR", "IL", "AU", "KR", "SG", "RU",
                           "JP"])


@settings(max_examples=600, deadline=None)
@given(PREFIXES, PLAIN, REGIONS)
def test_fast_path_agrees_with_phonenumbers(prefix, body, region):
    text = prefix + body
    assert fast(text, region) == authority(text, region)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(PREFIXES, st.lists(st.sampled_from(["", " ", "-", ".", "/"]), min_size=12, max_size=12)),
                min_size=1, max_size=4), st.text(alphabet="0123456789", min_size=6, max_size=11), REGIONS)
def test_spellings_of_one_number_share_a_parse_and_still_agree(spellings, digits, region):
    normaliser = Normaliser(region)
    for prefix, separators in spellings:
        # The spare separators go unused.
        text = prefix + "".join(d + sep for d, sep in zip(digits, separators, strict=False))
        try:
            got = normaliser(text)
        except BadInput as exc:
            got = f"error: {exc}"
        assert got == authority(text, region)


def test_each_distinct_text_is_resolved_once():
    normaliser = Normaliser("IT")
    for _ in range(3):
        normaliser("333 123 4567")
        with pytest.raises(BadInput):
            normaliser("123")
    assert len(normaliser.cache) == 2


# ---- dates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, stored, day", [
    ("2026-03-15", "2026-03-15T11:00:00.000000Z", "2026-03-15"),  # noon in Rome, CET
    ("2026-06-15", "2026-06-15T10:00:00.000000Z", "2026-06-15"),  # noon in Rome, CEST
    ("15/03/2026 18:30", "2026-03-15T17:30:00.000000Z", "2026-03-15"),
    ("15.03.2026", "2026-03-15T11:00:00.000000Z", "2026-03-15"),
    ("2026.03.15.", "2026-03-15T11:00:00.000000Z", "2026-03-15"),
    ("2026. 03. 15. 08:05", "2026-03-15T07:05:00.000000Z", "2026-03-15"),
    ("2026-03-15T23:30:00+00:00", "2026-03-15T23:30:00.000000Z", "2026-03-16"),  # already the 16th in Rome
    ("2026-03-15 18:30:15.25", "2026-03-15T17:30:15.250000Z", "2026-03-15"),
    ("5/3/2026", "2026-03-05T11:00:00.000000Z", "2026-03-05"),
    ("2026-03-29 01:59", "2026-03-29T00:59:00.000000Z", "2026-03-29"),  # just before the spring-forward gap
    ("2026-03-29 03:00", "2026-03-29T01:00:00.000000Z", "2026-03-29"),  # just after it
    ("2025-10-26 02:30", "2025-10-26T00:30:00.000000Z", "2025-10-26"),  # twice that night: the first, as --at
])
def test_dates(text, stored, day):
    assert Dates(ROME).moment(text) == (stored, day)


DAY_CELLS = st.builds(
    lambda y, m, d, form: form.format(y=y, m=m, d=d),
    st.integers(2023, 2026), st.integers(1, 13), st.integers(1, 31),
    st.sampled_from(["{d:02d}/{m:02d}/{y}", "{y}-{m:02d}-{d:02d}", "{d}.{m}.{y}", "{y}.{m:02d}.{d:02d}.",
                     " {y}-{m:02d}-{d:02d} ", "{m}/{d}/{y}", "x{d}"]))
TIME_CELLS = st.one_of(st.just(""), st.just(" "), st.just("12:00Z"), st.just("02:30"),
                       st.builds("{}:{:02d}".format, st.integers(0, 25), st.integers(0, 59)),
                       st.builds("{:02d}.{:02d}.{:02d}".format, st.integers(0, 23), st.integers(0, 59),
                                 st.integers(0, 59)))
ZONES = st.sampled_from(["Europe/Rome", "Europe/Budapest", "America/New_York", "Asia/Kolkata", "UTC"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(DAY_CELLS, TIME_CELLS), min_size=1, max_size=40), ZONES, st.booleans())
def test_date_columns_agree_with_moment(cells, zone, timed):
    """The column path gives moment's answer for every row it reads, and leaves the rest to it
    (DST change days, zones a fraction off UTC, anything not a plain date and time)."""
    tz = ZoneInfo(zone)
    days = [day for day, _time in cells] if timed else [f"{day} {time}".rstrip() for day, time in cells]
    times = [time for _day, time in cells]
    moments, local_days = Dates(tz).columns(days, times if timed else None)
    authority = Dates(tz)
    for i, day in enumerate(days):
        if moments[i] is None:
            continue
        assert (moments[i], local_days[i]) == authority.moment(day, (times[i] or None) if timed else None)


def test_date_columns_read_plain_days_and_leave_dst_changes_to_moment():
    moments, days = Dates(ROME).columns(["15/03/2026", "29/03/2026", "15/03/2026", "soon"], ["18:30", "12:00", "", ""])
    assert moments == ["2026-03-15T17:30:00.000000Z", None, "2026-03-15T11:00:00.000000Z", None]
    assert days == ["2026-03-15", None, "2026-03-15", None]


def test_a_separate_time_column():
    dates = Dates(ROME)
    assert dates.moment("15/03/2026", "18:30") == ("2026-03-15T17:30:00.000000Z", "2026-03-15")
    with pytest.raises(CellError, match="has a time and the time column says"):
        dates.moment("15/03/2026 10:00", "18:30")


def test_fractional_offset_zones_are_exact():
    kolkata = Dates(ZoneInfo("Asia/Kolkata"))
    assert kolkata.moment("2026-03-15 18:40") == ("2026-03-15T13:10:00.000000Z", "2026-03-15")


@pytest.mark.parametrize("text, message", [
    ("06/13/2026", "is not day/month/year"),
    ("31/02/2026", "no such day"),
    ("yesterday", "not a date"),
    ("2026-03-15 25:00", "not a time of day"),
    ("", "date is empty"),
    ("2026-03-29 02:30", "2026-03-29 02:30 does not exist in Europe/Rome"),  # the spring-forward gap
    ("31/12/1989", "is before 1990"),
])
def test_bad_dates(text, message):
    with pytest.raises(CellError, match=message):
        Dates(ROME).moment(text)


GAP_ZONES = st.sampled_from(["Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
                             "America/Havana", "Europe/Dublin"])
CHANGE_DAYS = st.sampled_from(["2025-03-30", "2025-10-26", "2026-03-08", "2026-03-29", "2026-04-05",
                               "2025-10-05", "2026-03-15", "2025-11-02", "2025-03-09"])


@settings(max_examples=300, deadline=None)
@given(GAP_ZONES, CHANGE_DAYS, st.integers(0, 23), st.integers(0, 59))
def test_dates_refuse_exactly_what_visit_at_refuses(zone, day, hour, minute):
    """One validation: around every DST change, a local time the counter refuses is refused,
    and one it takes is stored as it stores it."""
    from loyalty_cli.domain import clock

    tz, cell = ZoneInfo(zone), f"{day} {hour:02d}:{minute:02d}"
    try:
        expected = clock.to_db(clock.parse_moment(cell, tz))
    except BadInput:
        expected = None
    try:
        got = Dates(tz).moment(cell)[0]
    except CellError:
        got = None
    assert got == expected


def test_date_format():
    assert friendly_format("mm/dd/yyyy") == "%m/%d/%Y"
    assert friendly_format("%d-%m-%y") == "%d-%m-%y"
    dates = Dates(ROME, "mm/dd/yy")
    assert dates.moment("06/13/26 09:00") == ("2026-06-13T07:00:00.000000Z", "2026-06-13")


# ---- values ----------------------------------------------------------------------------------

def test_whole_numbers():
    assert [whole(t, "points") for t in ("12", "1.200", "1 200", "1,200", "3.0")] == [12, 1200, 1200, 1200, 3]
    for bad, message in (("-2", "must not be negative"), ("2.5", "whole number"), ("lots", "whole number")):
        with pytest.raises(CellError, match=message):
            whole(bad, "points")


def test_rewards_owed():
    config = load(None, "built-in defaults")
    rewards = Rewards(config.rewards)
    assert rewards.parse("2", "free-cone", "rewards") == {"free-cone": 2}
    assert rewards.parse("Free-Cone", None, "rewards") == {"free-cone": 1}
    assert rewards.parse("2 free-cone", None, "rewards") == {"free-cone": 2}
    assert rewards.parse("free-cone x3", None, "rewards") == {"free-cone": 3}
    assert rewards.parse("1 free-cone, 2 five-off", None, "rewards") == {"free-cone": 1, "five-off": 2}
    assert rewards.parse("Free ice cream cone", None, "rewards") == {"free-cone": 1}
    assert rewards.parse("0", None, "rewards") == {}
    with pytest.raises(CellError, match="does not say which reward"):
        rewards.parse("2", None, "rewards")


# ---- columns ---------------------------------------------------------------------------------

def test_headers_in_four_languages():
    assert normalise("Teléfono Móvil") == "telefonomovil"
    assert [guess(h, "cards") for h in ("Teléfono", "Cellulare", "Telefonszám", "E-mail", "Sellos", "Timbri",
                                          "Pecsétek", "Puntos", "Pontok", "Crédito", "Jóváírás", "Premios",
                                          "Última visita", "Utolsó látogatás", "Megjegyzés", "Cognome")] == [
        "phone", "phone", "phone", "email", "punches", "punches", "punches", "points", "points", "credit",
        "credit", "rewards", "last_visit", "last_visit", "note", "last_name"]
    assert guess("Egyenleg", "cards") is None  # a balance of points or of credit? the owner says (--map)
    assert [guess(h, "visits") for h in ("Fecha", "Data", "Dátum", "Időpont", "Importe", "Összeg", "Scontrino")] == [
        "date", "date", "date", "time", "amount", "amount", "ref"]
    assert guess("Importe", "cards") is None  # an amount means nothing on a card


def test_map_and_ignore_resolve_columns():
    columns = Columns("cards", {"Tessera": "phone", "Extra": "ignore"}, ["Colore"], "f.csv")
    assert columns.resolve(["Tessera", "Nome", "Colore", "Extra", "rejected_because"]) == [(0, "phone"), (1, "name")]


# ---- files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("data, encoding", [
    ("phone;name\n333 123 4567;Niccolò\n".encode(), "utf-8"),
    (codecs.BOM_UTF8 + "phone;name\n333 123 4567;Niccolò\n".encode(), "utf-8-sig"),
    ("phone;name\n333 123 4567;Niccolò €\n".encode("cp1252"), "cp1252"),
    ("phone;name\n333 123 4567;Niccolò\x81\n".encode("latin-1"), "latin-1"),  # 0x81: not CP1252
    ("phone\tname\n333 123 4567\tNiccolò\n".encode("utf-16"), "utf-16"),
])
def test_encodings_are_detected(tmp_path, data, encoding):
    file = tmp_path / "f.csv"
    file.write_bytes(data)
    source = open_source(str(file))
    try:
        assert source.encoding == encoding
        rows = [line.rstrip("\r\n") for line in source.text()]
        assert rows[1].endswith(("Niccolò", "Niccolò €", "Niccolò\x81"))
    finally:
        source.close()


@pytest.mark.parametrize("text, delimiter", [
    ("phone,name,note\n333,\"Rossi; Maria\",x\n", ","),
    ("phone;name;credit\n333;Rossi;12,50\n347;Bianchi;3,00\n", ";"),
    ("phone\tname\n333\tRossi, Maria\n", "\t"),
    ("phone|name\n333|Rossi\n", "|"),
])
def test_delimiters_are_sniffed(tmp_path, text, delimiter):
    file = tmp_path / "f.csv"
    file.write_text(text, encoding="utf-8")
    source = open_source(str(file))
    source.close()
    assert source.delimiter == delimiter


def test_line_count_and_hash(tmp_path):
    file = tmp_path / "f.csv"
    file.write_bytes(b"phone\n1\n2")
    source = open_source(str(file))
    source.close()
    assert source.lines == 3  # for the progress bar: the last line has no newline
    assert source.sha256 == hashlib.sha256(b"phone\n1\n2").hexdigest()


def test_an_evening_west_of_utc_is_stored_as_the_next_utc_day():
    assert Dates(ZoneInfo("America/New_York")).moment("2026-01-10 20:00") == (
        "2026-01-11T01:00:00.000000Z", "2026-01-10")


def test_seen_keys_count_repeats_and_survive_growth():
    import random

    from loyalty_cli.importing.visits import _SeenKeys

    seen = _SeenKeys(size=8)
    rng = random.Random(3)
    keys = [rng.getrandbits(64) for _ in range(5000)]
    assert [seen.count(k) for k in keys] == [0] * 5000
    assert [seen.count(k) for k in keys[:3]] == [1, 1, 1]
    assert seen.count(keys[0]) == 2
    assert seen.count(0) == 0 and seen.count(1) == 1  # 0 and 1 share a slot value: both are 1 inside


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=" \t\u00a0ab\n", max_size=8), max_size=20))
def test_texts_is_text_for_a_column(values):
    assert texts(values) == [tidy(value) for value in values]
