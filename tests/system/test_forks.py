"""system/forks.py: forked children get every row the parent reads, and their results or failures."""

import os
import signal

import pytest

from loyalty_cli.system import forks

pytestmark = pytest.mark.skipif(forks.available() == 1 and not hasattr(os, "fork"), reason="no fork here")


def _figures(rows) -> tuple[int, int, int]:
    count = total = last = 0
    for number, square in rows:
        assert square == number * number
        count, total, last = count + 1, total + number, number
    return count, total, last


def test_every_fork_gets_every_row_in_order():
    rows = [(n, n * n) for n in range(2 * forks.BATCH + 17)]  # two whole batches and a part
    children = [forks.Fork(_figures), forks.Fork(lambda got: [row[0] for row in got][::5000])]
    seen = _figures(forks.fan_out(iter(rows), children))
    assert children[0].result() == seen == (len(rows), sum(range(len(rows))), len(rows) - 1)
    assert children[1].result() == list(range(0, len(rows), 5000))


def test_a_failing_child_is_reported_and_the_parent_goes_on():
    def boom(rows):
        for number, _square in rows:
            if number == 5:
                raise ValueError("five is too many")
        return "never"

    child = forks.Fork(boom)
    assert _figures(forks.fan_out(((n, n * n) for n in range(3 * forks.BATCH)), [child]))[0] == 3 * forks.BATCH
    with pytest.raises(RuntimeError, match="ValueError: five is too many"):
        child.result()


def test_a_child_killed_midway_is_an_error_not_a_hang():
    child = forks.Fork(lambda rows: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(RuntimeError, match="ended early"):
        list(forks.fan_out(((n, n * n) for n in range(10 * forks.BATCH)), [child]))
        child.result()
    child.close()


def test_closing_without_a_result_ends_the_child():
    child = forks.Fork(_figures)
    child.send(__import__("pickle").dumps([(1, 1)]))
    child.close()
    assert not child._process.is_alive()
