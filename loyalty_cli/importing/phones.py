"""Phone numbers at import speed: each distinct number parsed once, most without phonenumbers.parse.

`phones.normalise` costs ~50-75 us a number (parse + validate); a 100,000-row cards file is
100,000 distinct numbers, which alone would blow the 5 s budget. `Normaliser` first reduces a
plainly written number (digits, spaces, - . / ( ) and a leading + or 00) to country code and
national significant number with the region's own metadata, and accepts it only when the
metadata's general pattern says the number is valid: the same test phonenumbers makes. Anything
else (letters, extensions, carrier codes, an invalid-looking number) goes to
`phones.normalise`, which is the authority and words the error. tests/importing/test_import_parts.py
checks the two agree on messy numbers in several regions.
"""

import itertools
import os
import pickle
import re

from loyalty_cli.domain import phones
from loyalty_cli.domain.errors import BadInput
from loyalty_cli.importing.reader import can_fork

FORK_FROM = 8_000  # new numbers in one batch worth a helper process

_PLAIN = re.compile(r"\+?[0-9 \-./()\u00a0]+")
_NOT_DIGITS = re.compile(r"[^0-9]")


class _Country:
    """What the fast path needs to know about one calling code's regions."""

    def __init__(self, country_code: int, regions: tuple[str, ...]):
        from phonenumbers import PhoneMetadata

        self.code = str(country_code)
        self.regions = []
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region(region, None)
            if metadata is None:
                continue
            # Any type will do (is_valid_number asks only "not UNKNOWN"): the usual ones first.
            types = [metadata.fixed_line, metadata.premium_rate, metadata.toll_free, metadata.shared_cost,
                     metadata.voip, metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail]
            if not metadata.same_mobile_and_fixed_line_pattern:
                types.insert(0, metadata.mobile)
            self.regions.append((
                re.compile(metadata.leading_digits) if metadata.leading_digits else None,
                _desc(metadata.general_desc),
                [desc for desc in map(_desc, types) if desc is not None],
            ))
        general = PhoneMetadata.metadata_for_region(regions[0], None) if regions else None
        self.viable_pattern = (re.compile(general.general_desc.national_number_pattern)
                               if general and general.general_desc.national_number_pattern else None)
        prefix = general.national_prefix_for_parsing if general else None
        simple = general is not None and general.national_prefix_transform_rule is None
        compiled = re.compile(prefix) if prefix and simple else None
        self.national_prefix = compiled if compiled is not None and compiled.groups == 0 else None
        self.prefix_is_simple = simple and (prefix is None or self.national_prefix is not None)

    def valid(self, national: str) -> bool:
        """phonenumbers' is_valid_number: pick the region as it does, then any number type matches."""
        for leading, general, types in self.regions:
            if leading is not None:
                if not leading.match(national):
                    continue
                return _typed(national, general, types)
            if _typed(national, general, types):
                return True
        return False

    def viable(self, national: str) -> bool:
        """The main region's general pattern, length aside: how phonenumbers decides to strip."""
        return self.viable_pattern is not None and self.viable_pattern.fullmatch(national) is not None

    def e164(self, national: str, home: bool = False) -> str | None:
        """E.164 for a national number, or None when only phonenumbers can tell.

        A trunk prefix is stripped when the rest is valid (phonenumbers strips it then too); a
        home number that starts with the country code and is not viable as it stands may be
        read by phonenumbers as carrying the code, so it goes the slow way.
        """
        if not self.prefix_is_simple:
            return None
        if self.national_prefix is not None:
            found = self.national_prefix.match(national)
            if found and found.end():
                stripped = national[found.end():]
                return f"+{self.code}{stripped}" if self.valid(stripped) else None
        if home and national.startswith(self.code) and not self.viable(national):
            return None
        return f"+{self.code}{national}" if self.valid(national) else None


def _desc(desc):
    """(possible lengths, compiled pattern) of a PhoneNumberDesc, None when it matches nothing."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _typed(national: str, general, types) -> bool:
    """The general description matches, and so does some number type (written out: it runs for
    every new number of a file)."""
    if general is None:
        return False
    size = len(national)
    lengths, pattern = general
    if (lengths and size not in lengths) or pattern.fullmatch(national) is None:
        return False
    for lengths, pattern in types:
        if (not lengths or size in lengths) and pattern.fullmatch(national) is not None:
            return True
    return False


class Normaliser:
    """text -> E.164 with a cache; raises BadInput (phones.normalise's wording) when invalid."""

    def __init__(self, region: str | None):
        self.region = region.upper() if region else None
        self.cache: dict[str, str | BadInput] = {}  # text as written -> E.164 or the error
        self.by_digits: dict[str, str] = {}  # '+'? and digits of a plainly written number -> E.164
        self._countries: dict[int, _Country | None] = {}
        self._home = None
        self._idd = None  # the region's international prefix, when it is plain digits (00)
        self._idd_pattern = None  # or when it is a pattern
        self.parsed = 0  # numbers that needed phonenumbers.parse (for the benchmark)
        self.fork = True  # may share a big batch of new numbers with a helper process
        if self.region:
            from phonenumbers import PhoneMetadata

            metadata = PhoneMetadata.metadata_for_region(self.region, None)
            if metadata is not None:
                self._home = self._country(metadata.country_code)
                prefix = metadata.international_prefix
                if prefix and re.fullmatch(r"[0-9]+", prefix):
                    self._idd = prefix
                elif prefix:
                    # A pattern (Israel: 0(?:0|1(?:05|[2-9]))): phonenumbers reads a number that
                    # starts with it as international, so such a number goes its way.
                    self._idd_pattern = re.compile(prefix)

    def __call__(self, text: str) -> str:
        found = self.cache.get(text)
        if found is None:
            found = self._resolve(text)
            if len(self.cache) > 2_000_000:  # a runaway file: keep memory bounded
                self.cache.clear()
                self.by_digits.clear()
            self.cache[text] = found
        if isinstance(found, BadInput):
            raise found
        return found

    def column(self, texts: list) -> list:
        """E.164 or the error (a BadInput, not raised) for each text of a column."""
        cache = self.cache
        found = list(map(cache.get, texts))
        if None in found:
            missing = set(texts).difference(cache)
            if len(cache) + len(missing) > 2_000_000:  # a runaway file: keep memory bounded
                cache.clear()
                self.by_digits.clear()
                missing = set(texts)
            cache.update(zip(missing, self._resolve_many(list(missing)), strict=True))
            found = list(map(cache.get, texts))
        return found

    def _resolve_many(self, texts: list) -> list:
        """_resolve for each text; many new numbers are shared with a forked helper process.

        A cards file is 100,000 numbers never seen before, at ~9 us each: the machine's second
        core halves that. Only where fork is cheap and safe (Linux); the helper touches nothing
        but this object's copy and sends back its results and what it learnt (by_digits).
        """
        if len(texts) < FORK_FROM or not self.fork or not can_fork():
            return [self._resolve(text) for text in texts]
        half = len(texts) // 2
        theirs = _forked(lambda: self._learn(texts[half:]))
        if theirs is None:
            return [self._resolve(text) for text in texts]
        mine = [self._resolve(text) for text in texts[:half]]
        done = theirs()
        if done is None:  # the helper died: do its half here
            return mine + [self._resolve(text) for text in texts[half:]]
        found, learnt = done
        self.by_digits.update(learnt)
        return mine + found

    def _learn(self, texts: list) -> tuple[list, list]:
        known = len(self.by_digits)
        found = [self._resolve(text) for text in texts]
        return found, list(itertools.islice(self.by_digits.items(), known, None))

    def _resolve(self, text: str):
        """'333 123 4567', '333-123-4567' and '(333) 1234567' are one number, parsed once;
        '0039 333...' shares the parse of '+39 333...'."""
        raw = text.strip()
        plain = bool(raw) and _PLAIN.fullmatch(raw) is not None
        if plain:
            digits = _NOT_DIGITS.sub("", raw)
            key = ("+" if raw.startswith("+") else "") + digits
            if self._idd and key.startswith(self._idd) and not key.startswith("0", len(self._idd)):
                key = "+" + key[len(self._idd):]  # the region's international prefix, as phonenumbers reads it
            known = self.by_digits.get(key)
            if known is not None:
                return known
        try:
            found = (self._fast(raw.startswith("+"), digits) if plain else None) or self._slow(text)
        except BadInput as exc:
            return exc  # not shared between spellings: the message quotes this one
        if plain:
            self.by_digits[key] = found  # the same string object for every spelling: less memory
        return found

    def _slow(self, text: str) -> str:
        self.parsed += 1
        return phones.normalise(text, self.region)

    def _fast(self, international: bool, digits: str) -> str | None:
        if not international and self._idd and digits.startswith(self._idd):
            digits = digits[len(self._idd):]
            international = True
        if not international and self._idd_pattern is not None:
            found = self._idd_pattern.match(digits)
            if found and not digits.startswith("0", found.end()):
                return None  # phonenumbers strips it as an international prefix (unless a 0 follows)
        if international:
            if digits.startswith("0"):
                return None
            for length in (1, 2, 3):
                country = self._country(int(digits[:length])) if len(digits) > length else None
                if country is not None:
                    return country.e164(digits[length:])
            return None
        if self._home is None:
            return None
        return self._home.e164(digits, home=True)

    def _country(self, code: int) -> "_Country | None":
        if code not in self._countries:
            from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

            regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
            self._countries[code] = _Country(code, tuple(regions)) if regions else None
        return self._countries[code]


def _forked(work):
    """Run work() in a forked child now. Returns a function that waits for the child and returns
    its result (None if it failed), or None when no child could be started."""
    try:
        read, write = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: compute, send, and leave without running any of the parent's cleanup
        status = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                pickle.dump(work(), out, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(write)

    def result():
        with os.fdopen(read, "rb") as incoming:
            data = incoming.read()
        _pid, status = os.waitpid(pid, 0)
        return pickle.loads(data) if status == 0 and data else None

    return result
