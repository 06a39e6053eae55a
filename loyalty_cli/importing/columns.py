"""Which column is which: headers in English, Spanish, Italian and Hungarian, plus --map and --ignore.

Headers are compared case-insensitively, without accents and without spaces or punctuation
('Teléfono móvil' -> 'telefonomovil'). A column that is not recognised stops the import
before anything is read: the owner maps it (--map COLUMN=FIELD) or drops it (--ignore COLUMN).
"""

import unicodedata

from loyalty_cli.domain.errors import BadInput
from loyalty_cli.domain.i18n import Phrase
from loyalty_cli.importing.rejects import REASON_COLUMN

FIELDS = {
    "cards": ("phone", "name", "first_name", "last_name", "email", "punches", "points", "credit",
              "rewards", "reward", "last_visit", "note", "birthday", "marketing"),
    "visits": ("phone", "name", "first_name", "last_name", "date", "time", "amount", "items", "note", "ref",
               "category"),
}
REQUIRED = {"cards": ("phone",), "visits": ("phone", "date")}
# The cells of a row as the importer reads them, in this order (name parts joined into name).
ROW = {
    "cards": ("phone", "name", "email", "punches", "points", "credit", "rewards", "reward", "last_visit", "note",
              "birthday", "marketing"),
    "visits": ("phone", "name", "date", "time", "amount", "items", "note", "ref", "category"),
}
NAME_PARTS = ("name", "first_name", "last_name")  # several columns may form the name

# English, Spanish, Italian, Hungarian; already normalised (see `normalise`).
SYNONYMS = {
    "phone": ("phone", "phonenumber", "phoneno", "mobile", "mobilenumber", "mobilephone", "cell", "cellphone",
              "tel", "telephone", "telefono", "telefonomovil", "movil", "numerodetelefono", "celular",
              "cellulare", "numeroditelefono", "telefonszam", "telefon", "mobil", "mobilszam",
              "mobiltelefon", "mobiltelefonszam"),
    "name": ("name", "fullname", "customer", "customername", "client", "clientname", "nombre",
             "nombrecompleto", "nombreyapellidos", "cliente", "nome", "nomecompleto", "nominativo",
             "nomeecognome", "nev", "teljesnev", "ugyfel", "ugyfelnev", "vasarlo", "vevo"),
    "first_name": ("firstname", "givenname", "forename", "nombrepila", "nomedibattesimo", "keresztnev",
                   "utonev"),
    "last_name": ("lastname", "surname", "familyname", "apellido", "apellidos", "cognome", "vezeteknev",
                  "csaladnev"),
    "email": ("email", "emailaddress", "mail", "correo", "correoelectronico", "emailcim", "posta",
              "postaelettronica", "indirizzoemail"),
    "punches": ("punches", "punch", "stamps", "stamp", "openpunches", "sellos", "sello", "timbri", "timbro",
                "bollini", "bollino", "pecsetek", "pecset", "belyegzok", "belyegzo", "lyukasztasok"),
    "points": ("points", "point", "pts", "puntos", "punti", "pontok", "pont", "pontszam", "pointsbalance",
               "saldopuntos", "saldopunti", "pontegyenleg"),
    "credit": ("credit", "storecredit", "creditbalance", "credito", "saldoafavor", "saldocredito", "jovairas",
               "hitel"),
    "rewards": ("rewards", "rewardsowed", "owedrewards", "owed", "pendingrewards", "unredeemedrewards",
                "reward", "premios", "premiospendientes", "premio", "premi", "premidaritirare",
                "premimaturati", "jutalmak", "jutalom", "jarojutalmak", "jarojutalom"),
    "reward": ("rewardid", "rewardtype", "tipopremio", "tipodepremio", "jutalomtipus", "jutalomkod"),
    "last_visit": ("lastvisit", "lastvisitdate", "lastseen", "lastpurchase", "ultimavisita", "ultimacompra",
                   "ultimavisita", "ultimoacquisto", "utolsolatogatas", "utolsovasarlas", "utolsoalkalom"),
    "note": ("note", "notes", "comment", "comments", "remarks", "memo", "nota", "notas", "observaciones",
             "comentario", "comentarios", "commento", "commenti", "osservazioni", "megjegyzes", "megjegyzesek"),
    "marketing": ("marketing", "marketingconsent", "consent", "optin", "newsletter", "consentimiento",
                  "publicidad", "consenso", "consensomarketing", "marketingconsenso", "hozzajarulas",
                  "marketinghozzajarulas", "hirlevel"),
    "date": ("date", "datetime", "when", "visitdate", "dateofvisit", "day", "fecha", "fechayhora", "fechahora",
             "dia", "data", "dataeora", "dataora", "giorno", "datum", "nap", "datumido", "datumesido"),
    "time": ("time", "hora", "ora", "orario", "ido", "idopont"),
    "amount": ("amount", "total", "spend", "spent", "sum", "value", "importe", "monto", "totalpagado",
               "importo", "totale", "spesa", "osszeg", "vegosszeg", "fizetendo", "ertek"),
    "items": ("items", "qty", "quantity", "articles", "articulos", "cantidad", "unidades", "articoli",
              "pezzi", "quantita", "darab", "db", "tetelek", "mennyiseg"),
    "ref": ("ref", "reference", "receipt", "receiptno", "receiptnumber", "ticket", "ticketno", "invoice",
            "transaction", "transactionid", "recibo", "factura", "numeroticket", "scontrino", "ricevuta",
            "numeroscontrino", "nyugta", "nyugtaszam", "blokk", "szamla", "szamlaszam"),
    "category": ("category", "productcategory", "department", "dept", "categoria", "categoriaproducto",
                 "categoriadeproducto", "departamento", "seccion", "categoriaprodotto", "reparto", "kategoria",
                 "termekkategoria", "reszleg"),
    "birthday": ("birthday", "birthdate", "dateofbirth", "dob", "bday", "cumpleanos", "fechadenacimiento",
                 "fechanacimiento", "nacimiento", "compleanno", "datadinascita", "datanascita", "nascita",
                 "szuletesnap", "szuletesidatum", "szulinap"),
}
# A balance, without saying of what: 37 points read as EUR 37.00 of credit. The owner says which.
AMBIGUOUS = {header: ("points", "credit") for header in (
    "balance", "accountbalance", "currentbalance", "saldo", "saldoactual", "saldoattuale", "egyenleg",
    "aktualisegyenleg")}
_LOOKUP = {alias: name for name, aliases in SYNONYMS.items() for alias in aliases}
IGNORED = "-"  # a column dropped knowingly


def normalise(header: str) -> str:
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def guess(header: str, kind: str) -> str | None:
    found = _LOOKUP.get(normalise(header))
    return found if found in FIELDS[kind] else None


class Columns:
    """header name -> field, resolved once per file (or per new key, for JSON Lines)."""

    def __init__(self, kind: str, mapping: dict[str, str], ignore: list[str], source_name: str):
        self.kind, self.source_name = kind, source_name
        self.mapping = {}
        self.written: dict[str, str] = {}  # normalised -> as the owner typed it, for messages
        for column, target in mapping.items():
            target_field = target.strip().lower().replace("-", "_")
            if target_field in ("ignore", "skip", "-"):
                target_field = IGNORED
            elif target_field not in FIELDS[kind]:
                raise BadInput(Phrase("--map {column}={target}: {kind} have no field {target2} (fields: {value})",
                                      column=column, target=target, kind=kind, target2=repr(target),
                                      value=', '.join(FIELDS[kind])))
            self.mapping[normalise(column)] = target_field
            self.written[normalise(column)] = column
        self.ignore = {normalise(column) for column in ignore}
        self.written.update((normalise(column), column) for column in ignore)
        self.used_options: set[str] = set()

    def field_of(self, header: str) -> str | None:
        """The field a column feeds, IGNORED, or None when nobody said."""
        key = normalise(header)
        if key in self.mapping:
            self.used_options.add(key)
            return self.mapping[key]
        if key in self.ignore:
            self.used_options.add(key)
            return IGNORED
        if key == normalise(REASON_COLUMN):
            return IGNORED
        return guess(header, self.kind)

    def resolve(self, headers: list[str]) -> list[tuple[int, str]]:
        """(column index, field) for a CSV header; raises BadInput naming every problem."""
        pairs, unknown, owners = [], [], {}
        for index, header in enumerate(headers):
            if not header:
                continue  # an unnamed column: its cells must stay empty (checked per row)
            target = self.field_of(header)
            if target is None:
                self.refuse_ambiguous(header, f"{self.source_name}: line 1: column")
                unknown.append(header)
            elif target != IGNORED:
                if target in owners and target not in NAME_PARTS:
                    raise BadInput(Phrase("{source_name}: line 1: columns {value} and {header} both look like "
                                          "{target}; --ignore one of them or --map it to another field",
                                          source_name=self.source_name, value=repr(owners[target]),
                                          header=repr(header), target=target))
                owners.setdefault(target, header)
                pairs.append((index, target))
        self._check_options([h for h in headers if h])
        if unknown:
            if not pairs:
                raise BadInput(Phrase("{source_name}: line 1 does not look like a header ({columns}); the first "
                                      "line must name the columns", source_name=self.source_name,
                                      columns=_listing(unknown)))
            raise BadInput(Phrase("{source_name}: line 1: column(s) not recognised: {columns}; map each with --map "
                                  "COLUMN=FIELD (fields: {value}) or drop it with --ignore COLUMN",
                                  source_name=self.source_name, columns=_listing(unknown),
                                  value=', '.join(FIELDS[self.kind])))
        missing = [name for name in REQUIRED[self.kind] if name not in owners]
        if missing:
            raise BadInput(Phrase("{source_name}: line 1: no {missing} column (columns: {columns}); name it with "
                                  "--map COLUMN={value}", source_name=self.source_name,
                                  missing=' or '.join(missing), columns=_listing([h for h in headers if h]),
                                  value=missing[0]))
        return pairs

    def refuse_ambiguous(self, header: str, where: str) -> None:
        """BadInput asking for --map when a column could be one field or another ('Balance')."""
        fields = [name for name in AMBIGUOUS.get(normalise(header), ()) if name in FIELDS[self.kind]]
        if len(fields) > 1:
            choices = " or ".join(f"--map {_quoted(header)}={name}" for name in fields)
            raise BadInput(Phrase("{where} {header} could be {fields}; say which with {choices}", where=where,
                                  header=repr(header), fields=' or '.join(fields), choices=choices))

    def _check_options(self, headers: list[str]) -> None:
        present = {normalise(h) for h in headers}
        for key in self.mapping:
            if key not in present:
                raise BadInput(Phrase("--map: {source_name} has no column {value} (columns: {columns})",
                                      source_name=self.source_name, value=repr(self.written[key]),
                                      columns=_listing(headers)))
        for key in self.ignore:
            if key not in present:
                raise BadInput(Phrase("--ignore: {source_name} has no column {value} (columns: {columns})",
                                      source_name=self.source_name, value=repr(self.written[key]),
                                      columns=_listing(headers)))


def _listing(names) -> str:
    return ", ".join(repr(name) for name in names)


def _quoted(header: str) -> str:
    """A header as the owner would type it on a command line."""
    return f'"{header}"' if not header.replace("_", "").replace("-", "").isalnum() else header
