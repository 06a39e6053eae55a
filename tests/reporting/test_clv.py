"""`loyalty report clv`: the BG/NBD and Gamma-Gamma fits against the published CDNOW figures,
the numerically stable forms, the customers' rows, and the message when scipy is missing."""

import json
import math
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyalty_cli.domain import clock
from loyalty_cli.store import db as store_db

CDNOW = Path(__file__).resolve().parent.parent / "fixtures" / "cdnow" / "cdnow_sample.txt"
ROME = ZoneInfo("Europe/Rome")  # the sample config's zone
INSTALL_LINE = "pip install 'loyalty-cli[stats]'"

# Fader, Hardie & Lee (2005), table 1 (BG/NBD, weeks, calibration to 1997-09-30), and Fader &
# Hardie's note on the Gamma-Gamma model (the same customers' repeat purchases).
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow_days() -> dict[str, dict[date, int]]:
    """customer -> {day: cents spent}: the sample's purchases, several on a day summed."""
    days: dict[str, dict[date, int]] = {}
    for line in CDNOW.read_text().splitlines():
        customer, _sample_id, day, _cds, dollars = line.split()
        when = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        spent = days.setdefault(customer, {})
        spent[when] = spent.get(when, 0) + round(float(dollars) * 100)
    return days


@pytest.fixture(scope="module")
def cdnow_db(tmp_path_factory) -> Path:
    """The CDNOW sample as a shop's database: a customer per CDNOW customer (a made-up Italian
    mobile number), a visit per purchase at noon in Rome, the dollars as euros. Inserted in
    bulk: the counter's rules do not matter to this report, and 7,000 visits through them
    would cost the test seconds."""
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.db"
    conn = store_db.connect(path)
    customers, visits = [], []
    for line in CDNOW.read_text().splitlines():
        customer, _sample_id, day, _cds, dollars = line.split()
        cid = int(customer)
        if not customers or customers[-1][0] != cid:
            customers.append((cid, f"+3933300{cid:05d}", f"CDNOW {cid}", "1997-01-01T00:00:00.000000Z"))
        local = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        at = clock.to_db(datetime.combine(local, time(12), tzinfo=ROME).astimezone(UTC))
        visits.append((cid, at, local.isoformat(), round(float(dollars) * 100), 1, "import"))
    with store_db.transaction(conn):  # one commit, not one per row
        conn.executemany("INSERT INTO customers (id, phone, name, enrolled_at) VALUES (?, ?, ?, ?)", customers)
        conn.executemany("INSERT INTO visits (customer_id, at, local_day, amount, items, source) "
                         "VALUES (?, ?, ?, ?, ?, ?)", visits)
    conn.close()
    return path


def within(value: float, published: float, share: float) -> bool:
    return abs(value - published) <= share * abs(published)


# ---- the published fits, through the command -----------------------------------------------

def test_cdnow_fit_reproduces_the_papers(cli_json, cdnow_db):
    data = cli_json("--db", cdnow_db, "report", "clv", "--until", "1997-09-30")
    model = data["model"][0]
    assert model["time_unit"] == "week"
    assert model["customers"] == 2357
    for name, published in PAPER_BGNBD.items():
        assert within(model[name], published, 0.01), (name, model[name], published)
    for name, published in PAPER_GAMMA_GAMMA.items():
        assert within(model[name], published, 0.02), (name, model[name], published)
    assert within(model["log_likelihood"], -9582.4, 0.001)  # the paper's LL
    assert data["parameters"]["until"] == "1997-09-30" and data["parameters"]["horizon_days"] == 365


def test_cdnow_rows(cli_json, cdnow_db):
    data = cli_json("--db", cdnow_db, "report", "clv", "--until", "1997-09-30", "--horizon", "273")
    rows = data["rows"]
    assert len(rows) == 2357
    assert list(rows[0]) == ["phone", "name", "frequency", "recency_weeks", "age_weeks", "p_alive",
                             "expected_visits", "average_spend", "expected_value"]
    values = [float(r["expected_value"]) for r in rows]
    assert values == sorted(values, reverse=True)
    # Customer 4: 1997-01-01 (29.33), 01-18 (29.73), 08-02 (14.96); 12-12 is after --until.
    four = next(r for r in rows if r["phone"] == "+393330000004")
    assert (four["frequency"], four["recency_weeks"], four["age_weeks"]) == (2, 30.43, 38.86)
    assert four["average_spend"] == "22.35"  # (29.73 + 14.96) / 2 = 22.345, half up
    assert 0 < four["p_alive"] < 1 and four["expected_visits"] > 0
    once = [r for r in rows if r["frequency"] == 0]
    assert once and all(r["p_alive"] == 1 and r["average_spend"] is None for r in once)
    # Over the 39 weeks after calibration the paper's model expects about 1,400 repeat purchases
    # in all (its figure 2: 1,359 expected for weeks 40-78 before conditioning); the customers'
    # own conditional expectations add up to the same order.
    assert 1000 < sum(r["expected_visits"] for r in rows) < 2000


def test_cdnow_fit_directly():
    from loyalty_cli.reporting import clv_model

    frequency, recency, age, repeat_days, mean_spend = [], [], [], [], []
    until = date(1997, 9, 30)
    for spent in cdnow_days().values():
        days = sorted(day for day in spent if day <= until)
        frequency.append(len(days) - 1)
        recency.append((days[-1] - days[0]).days / 7)
        age.append((until - days[0]).days / 7)
        repeat = sum(spent[day] for day in days[1:])
        if len(days) > 1 and repeat > 0:
            repeat_days.append(len(days) - 1)
            mean_spend.append(repeat / (len(days) - 1) / 100)
    visits = clv_model.fit_bgnbd(frequency, recency, age)
    spend = clv_model.fit_gamma_gamma(repeat_days, mean_spend)
    assert (visits.customers, spend.customers) == (2357, 946)
    for name, published in PAPER_BGNBD.items():
        assert within(getattr(visits, name), published, 0.01)
    for name, published in PAPER_GAMMA_GAMMA.items():
        assert within(getattr(spend, name), published, 0.02)


# ---- the stable forms ------------------------------------------------------------------------

def test_expected_visits_matches_the_textbook_form_and_does_not_overflow():
    import numpy as np
    from scipy.special import hyp2f1

    from loyalty_cli.reporting.clv_model import BgNbd

    model = BgNbd(0.243, 4.414, 0.793, 2.426, 0.0, 0)
    x, t_x, T, t = np.array([0.0, 1, 2, 5, 20]), np.array([0.0, 5, 10, 20, 30]), np.full(5, 38.0), 52.0
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    textbook = ((a + b + x - 1) / (a - 1)
                * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1,
                                                                         t / (alpha + T + t)))
                / (1 + (x > 0) * a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)))
    assert np.allclose(model.expected_visits(t, x, t_x, T), textbook, rtol=1e-9)
    # A daily customer of three years: the textbook hyp2f1 overflows (#NUM! in Excel).
    many = model.expected_visits(52.0, [1000.0, 5000.0], [156.0, 156.0], [156.0, 156.0])
    assert np.isfinite(many).all() and 250 < many[0] < 400 and many[1] > many[0]
    assert not np.isfinite(hyp2f1(r + 5000, b + 5000, a + b + 5000 - 1, 52 / (alpha + 156 + 52)))
    assert model.p_alive([0.0], [0.0], [10.0])[0] == 1.0
    assert model.p_alive([500.0], [10.0], [150.0])[0] < 1e-10  # 500 visits, then 140 silent weeks


def test_gamma_gamma_weighs_the_customer_against_the_population():
    from loyalty_cli.reporting.clv_model import GammaGamma

    spend = GammaGamma(6.25, 3.74, 15.44, 946)
    population = 6.25 * 15.44 / (3.74 - 1)
    assert math.isclose(spend.expected_spend([0.0], [0.0])[0], population)
    few, many = spend.expected_spend([1.0, 50.0], [100.0, 100.0])
    assert population < few < many < 100


# ---- small shops, bad input ------------------------------------------------------------------

def test_a_shop_with_no_repeat_customer_gets_its_rows_and_a_note(cli, cli_json):
    for phone in ("333 100 0001", "333 100 0002"):
        assert cli("visit", phone, "--amount", "10", "--at", "2026-06-01T10:00").exit_code == 0
    data = cli_json("report", "clv")
    assert [r["frequency"] for r in data["rows"]] == [0, 0]
    assert all(r["p_alive"] is None and r["expected_value"] is None for r in data["rows"])
    assert any("visits not modelled" in note for note in data["notes"])
    assert data["model"][0]["r"] is None and data["model"][0]["customers"] == 2


def test_an_empty_database(cli, cli_json):
    assert cli("visit", "333 100 0001", "--amount", "10").exit_code == 0
    data = cli_json("report", "clv", "--until", "2026-01-01")  # before the only visit
    assert data["rows"] == [] and data["model"][0]["customers"] == 0


def test_every_format(cli, cdnow_db, tmp_path):
    for ext in ("csv", "json", "xlsx", "html", "txt"):
        target = tmp_path / f"clv.{ext}"
        result = cli("--db", cdnow_db, "report", "clv", "--until", "1997-09-30", "--output", target)
        assert result.exit_code == 0, result.output + result.stderr
        assert target.stat().st_size > 1000
    assert (tmp_path / "clv-model.csv").read_text().startswith("time_unit,r,alpha,a,b,p,q,gamma")


@pytest.mark.parametrize("args, message", [
    (("--until", "2026-06-16"), "after today"),
    (("--horizon", "0"), "--horizon"),
    (("--until", "someday"), "--until"),
])
def test_bad_input(cli, cdnow_db, args, message):
    result = cli("--db", cdnow_db, "report", "clv", *args)
    assert result.exit_code == 2 and message in result.stderr


# ---- without the extra ---------------------------------------------------------------------

@pytest.fixture
def without_scipy(monkeypatch):
    """As on a machine without the 'stats' extra: importing scipy fails (and the model module,
    if an earlier test imported it, is imported afresh)."""
    import loyalty_cli.reporting

    for name in ("scipy", "scipy.optimize", "scipy.special"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "loyalty_cli.reporting.clv_model", raising=False)
    monkeypatch.delattr(loyalty_cli.reporting, "clv_model", raising=False)


def test_missing_extra_says_how_to_install_it(cli, cdnow_db, without_scipy):
    result = cli("--db", cdnow_db, "report", "clv", "--until", "1997-09-30")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and INSTALL_LINE in lines[0]
    assert result.stdout == ""


# ---- at-risk's p_alive -----------------------------------------------------------------------

def _at_risk_shop(cli):
    # A weekly regular gone quiet for seven weeks: overdue by their own rhythm.
    for day in (1, 8, 15, 22, 29):
        assert cli("visit", "333 700 0002", "--amount", "10", "--at", f"2026-04-{day:02d}T12:00").exit_code == 0
    for month in (1, 2, 3, 4, 5, 6):
        assert cli("visit", "333 700 0003", "--amount", "10", "--at", f"2026-{month:02d}-02T12:00").exit_code == 0


def test_at_risk_adds_p_alive_with_the_extra(cli, cli_json):
    _at_risk_shop(cli)
    data = cli_json("report", "at-risk")
    assert [r["phone"] for r in data["rows"]] == ["+393337000002"]
    assert 0 < data["rows"][0]["p_alive"] <= 1  # two customers teach the model little
    assert any(note.startswith("p_alive: the BG/NBD probability") for note in data["notes"])


def test_at_risk_without_the_extra_is_as_before(cli, cli_json, without_scipy):
    _at_risk_shop(cli)
    data = cli_json("report", "at-risk")
    assert "p_alive" not in data["rows"][0] and data["notes"] == []


def test_the_report_fits_what_it_says(cli_json, cdnow_db):
    """The JSON's rows and model agree: P(alive) recomputed from the model for one customer."""
    from loyalty_cli.reporting.clv_model import BgNbd

    data = cli_json("--db", cdnow_db, "report", "clv", "--until", "1997-09-30")
    m = data["model"][0]
    model = BgNbd(m["r"], m["alpha"], m["a"], m["b"], m["log_likelihood"], m["customers"])
    row = next(r for r in data["rows"] if r["frequency"] > 3)
    expected = model.p_alive([row["frequency"]], [row["recency_weeks"]], [row["age_weeks"]])[0]
    assert math.isclose(row["p_alive"], expected, abs_tol=2e-3)
    assert json.dumps(data)  # plain JSON all the way down: no numpy type leaked out
