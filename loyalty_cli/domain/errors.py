"""The errors the core raises; the CLI edge turns each into one line and an exit code."""

EXIT_REFUSED = 1  # an operation refused or failed at run time
EXIT_BAD_INPUT = 2  # bad input or usage


class LoyaltyError(Exception):
    exit_code = EXIT_REFUSED


class Refused(LoyaltyError):
    """The input was fine but the operation cannot be done (short balance, used voucher...)."""

    exit_code = EXIT_REFUSED


class BadInput(LoyaltyError):
    """A phone, amount, date, file or config that is not valid."""

    exit_code = EXIT_BAD_INPUT


class Unreachable(Refused):
    """The shop's database server could not be reached (refused, or no answer in time): the
    counter records the visit in its local outbox instead (issue 14)."""


class OutputLost(Refused):
    """Standard output could not be written (a full disk, a closed stdout): one line on stderr
    saying so, and what the command did all the same (a visit recorded stays recorded)."""


class NoDatabase(Refused):
    """The server's database holds no loyalty tables yet (nothing recorded there): a read is
    refused, while the rules in force are simply the till's own (nothing published yet)."""
