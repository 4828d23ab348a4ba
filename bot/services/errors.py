"""Errors a user can act on. `str(error)` is the message shown to them."""


class ServiceError(Exception):
    """A refusal with a clear, user-facing explanation. Nothing was changed."""


class NotFound(ServiceError):
    pass


class Refused(ServiceError):
    pass


class RoundClosed(ServiceError):
    pass


class UnknownClause(ServiceError):
    def __init__(self, message: str, suggestions: list[str]) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class InvalidInput(ServiceError):
    pass


class CsvRowErrors(ServiceError):
    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        lines = "\n".join(f"line {line}: {msg}" for line, msg in errors)
        super().__init__(f"{len(errors)} row(s) could not be enrolled; nothing was changed.\n{lines}")
