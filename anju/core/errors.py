"""Errors raised by actions, turned into clear answers by views, the API and the CLI."""


class ActionError(Exception):
    """The request cannot be carried out as asked; the message says why, for the user."""

    status = 400


class Conflict(ActionError):
    """The request clashes with the current state (an illegal transition, a duplicate)."""

    status = 409


class InvalidField(ActionError):
    """One input field is invalid; `field` names it so a form or an API client can point at it."""

    status = 422

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
