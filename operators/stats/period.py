"""The period a statistic covers: whole days in French metropolitan time, from the first to the last included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Days, weeks and months are those of the service's users and of the ministry's reports: Paris time.
# (Overseas tchats are rare enough that counting them on Paris days changes no weekly or monthly figure noticeably.)
PARIS = ZoneInfo("Europe/Paris")
# A dashboard period longer than this is refused: it would load too many rows at once for a web request.
MAX_DAYS = 400
DEFAULT_DAYS = 30


class PeriodError(ValueError):
    """A period that cannot be used; the message is French and shown as is."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first instant of the period, in UTC."""
        return datetime.combine(self.first, time(0), PARIS).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period, in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), PARIS).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def label(self) -> str:
        return f"{self.first.isoformat()}/{self.last.isoformat()}"


def local_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{what} n'est pas une date valide (format attendu : AAAA-MM-JJ) : « {text} »") from None


def parse(first: str | None, last: str | None, *, today: date | None = None, max_days: int | None = MAX_DAYS) -> (
    Period
):
    """A period from two ISO dates; missing dates give the last 30 days up to today."""
    today = today or local_day(datetime.now(UTC))
    end = parse_date(last, "La date de fin") if last else today
    begin = parse_date(first, "La date de début") if first else end - timedelta(days=DEFAULT_DAYS - 1)
    if begin > end:
        raise PeriodError("La date de début doit précéder la date de fin.")
    if max_days is not None and (end - begin).days + 1 > max_days:
        raise PeriodError(f"La période ne peut pas dépasser {max_days} jours.")
    return Period(begin, end)
