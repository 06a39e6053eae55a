"""The peak memory of a process and the processes it forks, sampled from /proc (Linux).

`loyalty import` forks a reader and a phone helper, and `loyalty simulate` a process per core:
their memory adds up, and a child's own ru_maxrss says nothing of it. A thread walks the tree
(each process's /proc/PID/task/*/children) every `interval` seconds and keeps the largest sum.
Two measures: VmRSS, which counts pages a forked child shares with its parent in both (the
import's budget, conservative), and PSS, which counts a shared page once, split among the
processes that share it. Where /proc is not there, every sample is 0.
"""

import os
import threading


def vm_rss_mb(pid: int) -> float:
    return _field_mb(f"/proc/{pid}/status", "VmRSS:")


def pss_mb(pid: int) -> float:
    return _field_mb(f"/proc/{pid}/smaps_rollup", "Pss:")


class TreeMemory(threading.Thread):
    """Started beside a child process; `stop()` then `peak_mb` is the largest summed sample."""

    def __init__(self, root: int, measure=vm_rss_mb, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root, self.measure, self.interval = root, measure, interval
        self.peak_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.peak_mb = max(self.peak_mb, sum(map(self.measure, tree(self.root))))

    def stop(self) -> None:
        self._done.set()
        self.join()


def tree(root: int) -> list[int]:
    """The process and its descendants, as far as /proc can still see them."""
    found, todo = [], [root]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return found


def _field_mb(path: str, field: str) -> float:
    try:
        with open(path) as lines:
            return next((int(line.split()[1]) for line in lines if line.startswith(field)), 0) / 1024
    except (OSError, ValueError):
        return 0.0
