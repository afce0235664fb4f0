"""One error hierarchy: each error carries its one-line message and exit code (todoman's way)."""


class ComplianceError(Exception):
    """Base class: `str()` is the one-line message shown to the user.

    `details` are further one-line messages of the same kind, shown after it (a file's next bad
    rows, so that one round of fixing can mend them all).
    """

    exit_code = 1
    details: tuple[str, ...] = ()


class InputError(ComplianceError):
    """Bad input: a file, row, column or value that cannot be accepted."""

    exit_code = 2


class NotFound(ComplianceError):
    """Something named by the user does not exist, or the name is ambiguous."""

    exit_code = 3


class DatabaseError(ComplianceError):
    """The database cannot be opened, is not initialized, or refused a change."""

    exit_code = 4


class ScratchError(ComplianceError):
    """Temporary files could not be made or written: a full disk, a folder that cannot be written."""
