"""How `loyalty simulate` shares its scenarios among processes (reporting/simulate.py, system/forks.py).

Each process replays whole scenarios over every visit, so a split is good when its busiest process
has least to do. What a scenario costs is estimated from its config (_weight), from measurements
on the bench history. Pure: no processes here, only the split.
"""

from itertools import product

from loyalty_cli.domain.model import Config


def shares(configs: list[Config], processes: int) -> list[list[int]]:
    """The configs' indexes split among `processes` (the first share is the parent's, which also
    reads the visits), so that the busiest process has as little to replay as can be: every split
    is tried when there are few (up to EXACT_SPLITS), else the heaviest goes first, each to the
    least loaded (LPT). LPT once gave the bench's two cores shares of 13 s and 19 s where the
    best split was 17 s and 16 s. Reading the visits and pickling them costs the parent three quarters
    of a unit (_weight: 3.3 s and 0.5 s), unpickling them a child a tenth. A process that replays
    several configs takes longer than their weights add up to (their memos compete for the
    cache; on the bench's split the child's three took 10.0-11.6 s together against 8.1 s
    alone), so a split is only as good as these estimates."""
    weights = [_weight(config) for config in configs]
    starts = [0.75] + [0.1] * (max(1, processes) - 1)
    exact = len(starts) ** len(weights) <= EXACT_SPLITS
    owners = _best_owners(weights, starts) if exact else _greedy_owners(weights, starts)
    groups: list[list[int]] = [[] for _ in starts]
    for index, owner in enumerate(owners):
        groups[owner].append(index)
    mine, *theirs = groups
    theirs = [group for group in theirs if group]
    if not mine and theirs:  # nothing left for the parent: it replays one share itself, not just reads
        mine = theirs.pop()
    return [mine, *theirs]


EXACT_SPLITS = 4096  # splits tried one by one (2 processes and 12 configs): a few milliseconds


def _best_owners(weights: list[float], starts: list[float]) -> tuple[int, ...]:
    """The process of each config in the split whose busiest process has least to do (the
    first such split: on a tie the parent keeps the lower indexes)."""
    best, least = (), float("inf")
    for owners in product(range(len(starts)), repeat=len(weights)):
        loads = list(starts)
        for weight, owner in zip(weights, owners, strict=True):
            loads[owner] += weight
        if max(loads) < least - 1e-9:
            best, least = owners, max(loads)
    return best


def _greedy_owners(weights: list[float], starts: list[float]) -> list[int]:
    """LPT: the heaviest first, each to the least loaded process."""
    loads, owners = list(starts), [0] * len(weights)
    for index in sorted(range(len(weights)), key=lambda index: -weights[index]):
        owners[index] = min(range(len(loads)), key=loads.__getitem__)
        loads[owners[index]] += weights[index]
    return owners


EVERY_VISIT = ("punch_card", "points", "cashback")  # the rule kinds that act at every visit


def _weight(config: Config) -> float:
    """A config's replay cost in units of about 5 s on the bench history (1,000,000 visits), its
    share of the visits' preparation left out. Measured alone (min of 3): the sample (a punch card,
    points, cashback, two tiers, a promotion, birthday, welcome and referral rules) 4.8 s; the
    cafe's coffee card, points, birthday and promotion 2.7 s; a punch card with cashback 2.2 s;
    points with one tier 1.5 s. The shape: a base for the loop and its tally; each rule that acts
    at every visit adds to what the engine's outcome depends on, a punch card its own step
    (simulation._Scenario._fill), tiers and promotions their judging. Rules that act once a
    customer or a year cost little."""
    every_visit = sum(rule.kind in EVERY_VISIT for rule in config.rules)
    cards = sum(rule.kind == "punch_card" for rule in config.rules)
    tiers = len(config.tiers)
    return 0.2 + 0.1 * every_visit + 0.1 * cards + (0.1 + 0.05 * tiers if tiers else 0) + \
        (0.1 if config.promotions else 0)
