"""Small typed helpers for the statements the services build."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def dialect(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the database the session talks to."""
    return session.get_bind().dialect.name


def rowcount(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE touched."""
    return cast(CursorResult[Any], result).rowcount or 0


def table(model: type[DeclarativeBase]) -> Table:
    """A mapped class's table, for Core statements."""
    return cast(Table, model.__table__)
