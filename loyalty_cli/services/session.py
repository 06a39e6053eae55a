"""What every command needs: the config and the database, resolved once and lazily."""

from contextlib import contextmanager
from functools import cached_property

from loyalty_cli.config import load as config_module
from loyalty_cli.config import published
from loyalty_cli.domain import i18n, locale_format, model, phones
from loyalty_cli.domain.errors import BadInput, LoyaltyError, NoDatabase, Refused, Unreachable
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.store import config_versions
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db
from loyalty_cli.system import paths


def open_database(path, create: bool = True, make_folder: bool = True):
    """How a session opens its database: store.db.connect, which raises Unreachable when a
    database server cannot be reached. A module-level name, so that tests can make the server
    unreachable without stopping one (the outbox and the sync under test stay real)."""
    return store_db.connect(path, create=create, make_folder=make_folder)


class Session:
    """on_created(path) is told when opening the database created a new file (the CLI notes it)."""

    def __init__(self, db: str | None = None, config: str | None = None, on_created=None, on_note=None, kept=None):
        self.db_option, self.config_option = db, config
        self.kept = kept  # a services.kept.Kept: the connection is taken from it and given back (`loyalty till`)
        self.on_created = on_created
        self.on_note = on_note  # told things worth a line on stderr (local rules that differ from the published)
        self.created = None  # the path of a database this session created
        self.warnings: list[str] = []  # said once on stderr by the CLI, after the command's output
        self.unreachable = None  # the Unreachable raised once: not waited for again in the same command
        # phone cache rows (key -> value) read from the database by this command (by a running till,
        # since it started): not asked, nor written, again
        self.phone_keys: dict[str, str] = {} if kept is None else kept.phone_keys()

    @cached_property
    def local_config(self) -> model.Config:
        """This till's own config file (or the built-in defaults)."""
        path, origin = paths.config_path(self.config_option)
        config = config_module.load(path, origin) if self.kept is None else self.kept.config(path, origin)
        i18n.use(config.shop.locale)  # from here on everything people read is in the shop's language
        return config

    @cached_property
    def config(self) -> model.Config:
        """The rules in force: the version published to the database, with this till's own settings
        (config/published.py), once something is published; until then the till's own config."""
        local = self.local_config
        version = self.published_version
        if version is None:
            return local
        in_force = published.combine(version, local) if self.kept is None else self.kept.combined(version, local)
        if self.on_note is not None and published.differs(local, in_force):
            self.on_note(Phrase("local config differs from the published rules (version {version}); using the "
                                "published ones", version=version["id"]))
        return in_force

    @cached_property
    def published_version(self):
        """The newest config_versions row, or None (no database yet, or nothing published)."""
        if "conn" not in self.__dict__ and not store_db.exists(self.db_path):
            return None
        try:
            if self.kept is not None:
                return self.kept.published(self.db_path, self.conn)
            return config_versions.latest(self.conn)
        except NoDatabase:
            return None  # a server database still empty: the command that records something creates it
        except Unreachable:
            return None  # offline: the till's own rules check what it records; the server applies its own at sync

    def speak_the_shops_language(self) -> None:
        """Take up the shop's locale before any input is checked, so the first error is already
        in it; of a config that cannot be loaded, the locale it names, else the system's (its
        error comes later, from the command that needs the config)."""
        try:
            self.local_config  # noqa: B018 (loading it sets the locale: it is the till's own)
        except LoyaltyError:
            path, _origin = paths.config_path(self.config_option)
            i18n.use(config_module.declared_locale(path) or i18n.system_locale())

    @cached_property
    def db_choice(self):
        return paths.db_path(self.db_option)

    @property
    def db_path(self):
        return self.db_choice[0]

    @cached_property
    def outbox_path(self):
        """Asked five times a visit (push, remember, record): worked out once (paths.outbox_path)."""
        return paths.outbox_path(self.config_option)

    def can_go_offline(self) -> bool:
        """A till on a server database, or with an outbox already there: a till on a local SQLite
        file has no server to lose (services/offline.py)."""
        return paths.is_server(self.db_path) or self.outbox_path.exists()

    @contextmanager
    def outbox(self, durable: bool):
        """The till's outbox (store/outbox.py) for the block: kept open by a long-running till."""
        if self.kept is not None:
            yield self.kept.outbox(self.outbox_path, durable)
            return
        from loyalty_cli.store import outbox

        conn = outbox.open_outbox(self.outbox_path, durable)
        try:
            yield conn
        finally:
            conn.close()

    @cached_property
    def conn(self):
        """The shop's database, which must exist: a read, or a change to customers who must be in
        it already, on a mistyped --db (or from a cron job whose user has none) is refused rather
        than answered from a new empty database."""
        path, origin = self.db_choice
        if not store_db.exists(path):
            raise Refused(Phrase("no database at {path} (from {origin}): nothing recorded there yet; give --db or "
                                 "LOYALTY_DB for the shop's database", path=path, origin=origin))
        return self._open(path, create=False)

    @property
    def writable_conn(self):
        """The database, created on first use: for the commands that record something new (a
        visit, an enrolment, an import). Call it only once the input is known to be good; a
        database created by a command that then fails is removed again (close)."""
        if "conn" not in self.__dict__:
            path, origin = self.db_choice
            existed = store_db.exists(path)
            self.__dict__["conn"] = self._open(path, make_folder=origin == "default")
            if not existed:
                self.created = path
        return self.conn

    def _open(self, path, **options):
        if self.unreachable is not None:
            raise self.unreachable
        try:
            conn = self.kept.take(path) if self.kept is not None else None
            return conn if conn is not None else open_database(path, **options)
        except Unreachable as exc:
            self.unreachable = exc
            raise

    def location(self, option: str | None = None) -> str | None:
        """Where this till records its visits: --location, else LOYALTY_LOCATION, else [shop] location
        (None: a single shop that names none). Per till, never taken from published rules."""
        import os

        from loyalty_cli.domain import text

        for value, what in ((option, "--location"), (os.environ.get("LOYALTY_LOCATION"), "LOYALTY_LOCATION")):
            if value is not None and value.strip():
                value = text.tidy(value)
                problem = text.field_problem(value, text.LOCATION_MAX)
                if problem:
                    raise BadInput(Phrase("{what} {problem}", what=what, problem=problem))
                return value
        return self.config.shop.location

    def phone(self, text: str) -> str:
        """E.164 for a typed number, remembering how it was typed so the next time costs no parse
        (and reading, in the same statement, how the shop writes it: the card shows it)."""
        region = self.config.shop.phone_region
        key = phones.cache_key(text, region)
        if key in self.phone_keys and (region is None or phones.shown_key(self.phone_keys[key], region) in
                                       self.phone_keys):
            return self.phone_keys[key]  # a running till has read it before: no statement
        if self._database_open_or_a_file():
            prefix = phones.shown_prefix(region) if region is not None else None
            known, shown = store.cached_phone_and_shown(self.conn, key, prefix)
            if known:
                self.phone_keys[key] = known
                if shown:
                    self.phone_keys[prefix + known] = shown
                return known
        return phones.normalise(text, region)

    def remember(self, text: str, e164: str) -> None:
        """Remember how a number was typed, and how the shop writes it (the card's national form:
        computed once per number, so the counter's card never waits for phonenumbers, ~60 ms).
        What phone() found already there is not written again."""
        region = self.config.shop.phone_region
        key = phones.cache_key(text, region)
        if key not in self.phone_keys:
            store.remember_phone(self.conn, key, e164)
            self.phone_keys[key] = e164
        if region is None:
            return
        shown = phones.shown_key(e164, region)
        if shown not in self.phone_keys:
            known = store.cached_phone(self.conn, shown)
            if not known:
                known = locale_format.phone(e164, region)
                store.remember_phone(self.conn, shown, known)
            self.phone_keys[shown] = known

    def shown_phone(self, e164: str) -> str:
        """A number as people in the shop's region write it ('333 123 4567'; a foreign one with
        its +country): from what `remember` kept, else worked out now."""
        region = self.config.shop.phone_region
        if region is None:
            return e164
        if phones.shown_key(e164, region) in self.phone_keys:
            return self.phone_keys[phones.shown_key(e164, region)]
        if self._database_open_or_a_file():
            known = store.cached_phone(self.conn, phones.shown_key(e164, region))
            if known:
                return known
        return locale_format.phone(e164, region)

    def _database_open_or_a_file(self) -> bool:
        """Whether a cache in the database can be read without creating a file or waiting for a
        server before the input has been checked."""
        return "conn" in self.__dict__ or (not paths.is_server(self.db_path) and self.db_path.exists())

    def close(self, failed: bool = False) -> None:
        """Close the database; after a failure, remove a database this command created, so a
        refused command leaves no new file behind."""
        if "conn" in self.__dict__:
            conn = self.__dict__.pop("conn")
            if self.kept is not None and not (failed and self.created is not None):
                self.kept.give_back(self.db_path, conn)
            else:
                conn.close()
        if self.created is not None:
            if failed:
                store_db.remove_if_empty(self.created)
            elif self.on_created is not None:
                self.on_created(self.created)
            self.created = None
