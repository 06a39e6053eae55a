"""Which promotions a replayed visit gets, judged once per UTC hour where that cannot change
within the hour (domain/simulation.py): promotions.active at every visit cost a promoted replay
a fifth of its time. Pure."""

from datetime import datetime, time, timedelta

from loyalty_cli.domain import clock, promotions


class Windows:
    """Which promotions a visit gets (promotions.active), judging the windows once per UTC hour.

    Within one UTC hour a window's verdict can only change when the shop's clock crosses
    midnight, a change of offset, or one of the promotions' hour bounds; an hour where none of
    that happens is judged once, at its start (in_window itself), and every visit in it gets that
    verdict. Other hours are judged visit by visit, as the engine does.
    """

    def __init__(self, listed: tuple, tz, by_hour: bool = True):
        self.listed, self.tz, self.by_hour = listed, tz, by_hour
        self.bounds = sorted({bound for promotion in listed if promotion.hours for bound in promotion.hours
                              if bound != time.max})  # time.max: "until midnight", never crossed
        # 'YYYY-MM-DDTHH' (UTC) -> (local start, open ones, their ids if every visit gets them all) or None
        self.hours: dict[str, tuple | None] = {}
        self.fixed: dict[str, tuple] = {}  # the hours whose visits all get the same ones: their ids

    def running(self, at: str, amount: int, category: str | None) -> tuple:
        """The ids of the promotions a visit at `at` gets, in the config's order."""
        hour = at[:13]
        if not self.by_hour:
            judged = None
        elif hour in self.hours:
            judged = self.hours[hour]
        else:
            judged = self.hours[hour] = self._judge(hour)
            if judged is not None and judged[2] is not None:
                self.fixed[hour] = judged[2]
        if judged is None:
            local, candidates = clock.local(at, self.tz), self.listed
        else:
            local, candidates, fixed = judged
            if fixed is not None:
                return fixed
        return tuple(map(id, promotions.active(candidates, local, amount, category)))

    def _judge(self, hour: str) -> tuple | None:
        start = datetime.fromisoformat(hour + ":00:00+00:00")
        first, last = start.astimezone(self.tz), (start + timedelta(hours=1, microseconds=-1)).astimezone(self.tz)
        steady = last.replace(tzinfo=None) - first.replace(tzinfo=None) == timedelta(hours=1, microseconds=-1)
        if not steady or first.date() != last.date() or any(first.time() < bound <= last.time()
                                                             for bound in self.bounds):
            return None
        candidates = tuple(promotion for promotion in self.listed if promotions.in_window(promotion, first))
        # what every visit of the hour gets, when no candidate asks for an amount or a category
        fixed = None if any(promotion.min_amount or promotion.categories or promotion.exclude_categories
                            for promotion in candidates) else tuple(map(id, candidates))
        return first, candidates, fixed
