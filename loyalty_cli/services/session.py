"""What every command needs: the config and the database, resolved once and lazily."""

from functools import cached_property

from loyalty_cli.config import load as config_module
from loyalty_cli.domain import model, phones
from loyalty_cli.domain.errors import Refused
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db
from loyalty_cli.system import paths


class Session:
    """on_created(path) is told when opening the database created a new file (the CLI notes it)."""

    def __init__(self, db: str | None = None, config: str | None = None, on_created=None):
        self.db_option, self.config_option = db, config
        self.on_created = on_created
        self.created = None  # the path of a database this session created

    @cached_property
    def config(self) -> model.Config:
        path, origin = paths.config_path(self.config_option)
        return config_module.load(path, origin)

    @cached_property
    def db_choice(self):
        return paths.db_path(self.db_option)

    @property
    def db_path(self):
        return self.db_choice[0]

    @cached_property
    def conn(self):
        """The shop's database, which must exist: a read, or a change to customers who must be in
        it already, on a mistyped --db (or from a cron job whose user has none) is refused rather
        than answered from a new empty database."""
        path, origin = self.db_choice
        if not store_db.exists(path):
            raise Refused(f"no database at {path} (from {origin}): nothing recorded there yet; "
                          "give --db or LOYALTY_DB for the shop's database")
        return store_db.connect(path, create=False)

    @property
    def writable_conn(self):
        """The database, created on first use: for the commands that record something new (a
        visit, an enrolment, an import). Call it only once the input is known to be good; a
        database created by a command that then fails is removed again (close)."""
        if "conn" not in self.__dict__:
            path, origin = self.db_choice
            existed = store_db.exists(path)
            self.__dict__["conn"] = store_db.connect(path, make_folder=origin == "default")
            if not existed:
                self.created = path
        return self.conn

    def phone(self, text: str) -> str:
        """E.164 for a typed number, remembering how it was typed so the next time costs no parse."""
        region = self.config.shop.phone_region
        if "conn" in self.__dict__ or (not isinstance(self.db_path, str) and self.db_path.exists()):
            known = store.cached_phone(self.conn, phones.cache_key(text, region))
            if known:
                return known
        return phones.normalise(text, region)

    def remember(self, text: str, e164: str) -> None:
        store.remember_phone(self.conn, phones.cache_key(text, self.config.shop.phone_region), e164)

    def close(self, failed: bool = False) -> None:
        """Close the database; after a failure, remove a database this command created, so a
        refused command leaves no new file behind."""
        if "conn" in self.__dict__:
            self.conn.close()
            del self.__dict__["conn"]
        if self.created is not None:
            if failed:
                store_db.remove_if_empty(self.created)
            elif self.on_created is not None:
                self.on_created(self.created)
            self.created = None
