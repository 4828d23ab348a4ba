"""Typed settings, read from the environment or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(default=None, description="Token from @BotFather")
    telegram_api_url: str = Field(default=DEFAULT_API_URL, description="Bot API server root")
    database_url: str = Field(default="sqlite:///clausebot.db")
    timezone: str = Field(default="UTC", description="Secretariat's time zone for dates it sees")
    bot_username: str | None = Field(default=None, description="Used for invite links when the bot has not run yet")

    default_round_days: int = 60
    # Reminders before the deadline (units s, m, h, d); editable per round.
    reminder_schedule: str = "30d,14d,7d,3d,1d,0d"
    # Local night during which nothing is delivered, "21-08"; empty turns quiet hours off.
    quiet_hours: str = "21-08"
    # Chairs' digest interval, and the milestones that bring a summary.
    digest_every: str = "7d"
    summary_milestones: str = "7d,1d,0d"
    invite_ttl_days: int = 30
    # Where a consultation asks its focal points for clearance: the national deadline, this
    # many days before the regional one, by which delegates send their comments to their
    # focal point (0: none).
    national_lead_days: int = Field(default=0, ge=0, le=365)
    max_upload_mb: float = 10.0
    max_comment_chars: int = 8000
    # Seconds between looks at the outgoing queue for work queued by other processes.
    outbox_poll_seconds: float = 2.0
    # Messages a second the bot sends in all, replies included (Telegram allows about 30 overall).
    outbox_rate: float = 28.0
    # A process silent this long is taken for dead: the messages it was sending are queued again.
    instance_timeout_seconds: float = 30.0
    # Seconds between looks at the timetable (reminders, summaries) for changes made elsewhere.
    timetable_check_seconds: float = 30.0
    sql_echo: bool = False

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value.endswith("/bot"):
            value = value[: -len("/bot")]
        return value or DEFAULT_API_URL

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Asia/Jakarta)") from exc
        return value

    @field_validator("telegram_bot_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("reminder_schedule", "summary_milestones")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        from bot.services.schedule import parse_offsets

        parse_offsets(value)
        return value

    @field_validator("digest_every")
    @classmethod
    def _check_interval(cls, value: str) -> str:
        from bot.services.schedule import parse_duration

        if value.strip():
            parse_duration(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet(cls, value: str) -> str:
        from bot.services.schedule import parse_quiet_hours

        parse_quiet_hours(value)
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
