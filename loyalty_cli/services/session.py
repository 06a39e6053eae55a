"""What every command needs: the config and the database, resolved once and lazily."""

import sqlite3
from functools import cached_property

from loyalty_cli.config import load as config_module
from loyalty_cli.domain import model, phones
from loyalty_cli.store import counter as store
from loyalty_cli.store import db as store_db
from loyalty_cli.system import paths


class Session:
    """on_created(path) is told when opening the database created a new file (the CLI notes it)."""

    def __init__(self, db: str | None = None, config: str | None = None, on_created=None):
        self.db_option, self.config_option = db, config
        self.on_created = on_created

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
    def conn(self) -> sqlite3.Connection:
        path, origin = self.db_choice
        return store_db.connect(path, make_folder=origin == "default", on_create=self.on_created)

    def phone(self, text: str) -> str:
        """E.164 for a typed number, remembering how it was typed so the next time costs no parse."""
        region = self.config.shop.phone_region
        key = phones.cache_key(text, region)
        known = store.cached_phone(self.conn, key)
        if known:
            return known
        e164 = phones.normalise(text, region)
        return e164

    def remember(self, text: str, e164: str) -> None:
        store.remember_phone(self.conn, phones.cache_key(text, self.config.shop.phone_region), e164)

    def close(self) -> None:
        if "conn" in self.__dict__:
            self.conn.close()
