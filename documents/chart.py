"""The charts of chair and Secretariat summaries (PNG): who has responded, by body and Member
State; and the Secretariat's answers, by Member State.

Each carries the consultation's full title, wrapped between words over as many lines as it
needs, and the moment it shows, in the Secretariat's time zone, named.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._entries import local_time

# The title's size in points, and the room a character of it takes (0.6 em, on the wide side).
_TITLE_SIZE = 9
_TITLE_CHAR = 0.6 * _TITLE_SIZE / 72  # inches
# Height in inches of a line of the title.
_TITLE_LINE = 0.19


@dataclass(frozen=True)
class Cell:
    responded: bool
    comments: int  # the comments that count (where clearance is asked, those cleared)
    contacts: int
    # Where clearance by the focal points is asked: comments drafted and waiting for it, and
    # returned to their delegates.
    waiting: int = 0
    returned: int = 0


def chart_title(title: str, caption: str, width: float) -> list[str]:
    """The lines of a chart's title: ``title`` wrapped between words to fit ``width``
    inches (a word longer than a line keeps a line of its own, whole), then ``caption``."""
    columns = max(20, int(width / _TITLE_CHAR))
    wrapped = textwrap.wrap(" ".join(title.split()), columns, break_long_words=False, break_on_hyphens=False)
    return [*wrapped, caption]


def _titled(fig: Any, ax: Any, lines: list[str], width: float) -> None:
    """Set the title lines above the plot, the figure made taller to hold them."""
    fig.set_size_inches(width, fig.get_size_inches()[1] + _TITLE_LINE * (len(lines) - 1))
    ax.set_title("\n".join(lines), fontsize=_TITLE_SIZE, loc="left")


def response_chart(
    title: str,
    bodies: Sequence[str],
    states: Sequence[str],
    cells: dict[tuple[str, str], Cell],
    *,
    at: dt.datetime | None = None,
    timezone: str = "UTC",
    clearance: bool = False,
) -> bytes:
    """A grid with a row per body and a column per Member State: green where the body's
    contact in that state has responded (with the number of comments), amber where a contact
    is enrolled but has not, grey where nobody is enrolled. With ``clearance`` (the focal
    points clear their state's comments) a cell whose comments are drafted and wait for the
    focal point is blue, one with comments returned to its delegates purple, and its number
    counts every comment, cleared or not. ``at``: the moment the grid shows (now when not
    given), given under the title in ``timezone``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    green, amber, grey = "#3a9d5d", "#f0b429", "#d9d9d9"
    blue, purple = WAITING_COLOUR, RETURNED_COLOUR
    width = max(5.0, 1.0 + 0.75 * len(states))
    height = max(2.2, 1.4 + 0.45 * len(bodies))
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    try:
        for row, body in enumerate(bodies):
            for col, state in enumerate(states):
                cell = cells.get((body, state), Cell(False, 0, 0))
                if clearance and cell.returned:
                    colour = purple
                elif clearance and cell.waiting:
                    colour = blue
                else:
                    colour = green if cell.responded else (amber if cell.contacts else grey)
                ax.add_patch(Rectangle((col, row), 0.94, 0.88, color=colour))
                drafted = cell.comments + (cell.waiting + cell.returned if clearance else 0)
                label = str(drafted) if drafted else ("✓" if cell.responded else "")
                if label:
                    ax.text(col + 0.47, row + 0.44, label, ha="center", va="center", fontsize=8, color="white")
        ax.set_xlim(0, max(1, len(states)))
        ax.set_ylim(max(1, len(bodies)), 0)
        ax.set_xticks([c + 0.47 for c in range(len(states))])
        ax.set_xticklabels([s if len(s) <= 18 else s[:17] + "…" for s in states], rotation=40, ha="right", fontsize=8)
        ax.set_yticks([r + 0.44 for r in range(len(bodies))])
        ax.set_yticklabels(bodies, fontsize=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        lines = chart_title(
            title, f"Responses as of {local_time(at or dt.datetime.now(dt.UTC), timezone)}", width * 0.7
        )
        _titled(fig, ax, lines, width)
        return _png(
            fig,
            ax,
            [
                Patch(color=green, label="cleared (comments)" if clearance else "responded (comments)"),
                *(
                    [
                        Patch(color=blue, label="drafted, waiting for the focal point"),
                        Patch(color=purple, label="returned to the delegates"),
                    ]
                    if clearance
                    else []
                ),
                Patch(color=amber, label="not yet"),
                Patch(color=grey, label="no contact"),
            ],
        )
    finally:
        plt.close(fig)


# Where clearance is asked: comments waiting for the focal point, and returned to delegates.
WAITING_COLOUR, RETURNED_COLOUR = "#5b8def", "#9b59b6"

# The colours of the answers chart, in the order of its counts: accepted, accepted in part,
# noted, not accepted, not yet answered (amber, as "not yet" in the response chart).
ANSWER_COLOURS = ("#3a9d5d", "#9ccc65", "#5b8def", "#d64545", "#f0b429")


def answers_chart(
    title: str,
    states: Sequence[str],
    counts: Mapping[str, Sequence[int]],
    legend: Sequence[str],
    *,
    at: dt.datetime | None = None,
    timezone: str = "UTC",
) -> bytes:
    """A bar per Member State, split by the Secretariat's answer to its comments: `counts`
    gives each state's numbers and `legend` their names, both in the order of ANSWER_COLOURS.
    ``at``: the moment the bars show (now when not given), given under the title in
    ``timezone``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    longest = max([sum(counts.get(state, ())) for state in states] or [1]) or 1
    width = 7.0
    height = max(2.2, 1.4 + 0.45 * len(states))
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    try:
        for row, state in enumerate(states):
            left = 0
            for colour, n in zip(ANSWER_COLOURS, counts.get(state, ()), strict=False):
                if not n:
                    continue
                ax.barh(row + 0.44, n, height=0.88, left=left, color=colour)
                ax.text(left + n / 2, row + 0.44, str(n), ha="center", va="center", fontsize=8, color="white")
                left += n
        ax.set_xlim(0, longest)
        ax.set_ylim(max(1, len(states)), 0)
        ax.set_xticks([])
        ax.set_yticks([r + 0.44 for r in range(len(states))])
        ax.set_yticklabels([s if len(s) <= 18 else s[:17] + "…" for s in states], fontsize=8)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        lines = chart_title(title, f"Answers as of {local_time(at or dt.datetime.now(dt.UTC), timezone)}", width * 0.7)
        _titled(fig, ax, lines, width)
        return _png(
            fig, ax, [Patch(color=colour, label=label) for colour, label in zip(ANSWER_COLOURS, legend, strict=False)]
        )
    finally:
        plt.close(fig)


def _png(fig: Any, ax: Any, handles: list[Any]) -> bytes:
    """The chart with its legend beside it, as PNG bytes."""
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
