"""Shared CLI pieces: the project option, the console, JSON output, tables that fit.

The command modules import only click and this at the top; what a command needs (the API, the
store, the statistics, rich) is imported when it runs, so ``hyouka --help`` loads none of it
(tests/test_cli_startup.py, ``python benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from hyouka.i18n.cli import Lang, t

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod
    from rich.table import Table

    from hyouka.api import Workspace


class _LazyConsole:
    """A rich Console made when first used: rich costs ~50 ms to import, which ``hyouka run``
    would otherwise pay before its first model call."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def resolve(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)


# Long paths and links stay copy-pasteable; errors stay one line.
console = cast("Console", _LazyConsole(soft_wrap=True))
err_console = cast("Console", _LazyConsole(stderr=True, soft_wrap=True))


def rich_console(which: Console = console) -> Console:
    """The Console itself, for rich objects that need a real one (a Progress, a Live)."""
    return which.resolve() if isinstance(which, _LazyConsole) else which


F = TypeVar("F", bound=Callable[..., Any])


def esc(value: object) -> str:
    """``value`` as text that console markup prints as it is: ``pip install 'hyouka[ja]'``
    keeps its ``[ja]``, and a model output with ``[/]`` in it cannot break the line."""
    from rich.markup import escape

    return escape(str(value))


def say(key: str, **fields: object) -> str:
    """The CLI message ``key`` in this process's language (``hyouka --lang``, ``HYOUKA_LANG``,
    the locale), its fields escaped for console markup."""
    from hyouka.i18n.cli import resolve_lang, t

    return t(resolve_lang(), key, **{k: esc(v) for k, v in fields.items()})


def say_word(prefix: str, value: str) -> str:
    """The word for ``value`` in the ``prefix.`` family (``run_status.finished`` → 完了), or
    ``value`` itself (escaped) when the catalog has no such word."""
    text = say(f"{prefix}.{value}")
    return esc(value) if text == f"{prefix}.{esc(value)}" or text == f"{prefix}.{value}" else text


def print_item(text: str, bullet: str = "•", indent: int = 2) -> None:
    """Plain ``text`` (no markup) as a list item wrapped to the console's width with a hanging
    indent, so that sentences stay readable at 80 columns (wide Japanese characters too)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=indent + len(bullet), justify="right", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(bullet, Text(text))
    console.print(grid, soft_wrap=False)


def print_indented(text: str, indent: int = 4, style: str = "") -> None:
    """Plain ``text`` (no markup) wrapped to the console's width, every line indented."""
    from rich.padding import Padding
    from rich.text import Text

    console.print(
        Padding(Text(text, style=style), (0, 0, 0, indent), expand=False), soft_wrap=False
    )


def one_line(text: str, indent: int = 4) -> str:
    """``text`` on one line, cut with … to fit the console after ``indent`` (cell-aware)."""
    from rich.text import Text

    line = Text(" ".join(text.split()))
    line.truncate(max(console.width - indent, 20), overflow="ellipsis")
    return line.plain


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:  # every message of this command follows it, not only its tables
        set_command_lang(ctx, value)
    return value


def set_command_lang(ctx: click.Context, value: str) -> None:
    """Make ``value`` the language of every message until ``ctx`` (the command) ends."""
    from hyouka.i18n import CHOSEN

    token = CHOSEN.set(value)
    ctx.call_on_close(lambda: CHOSEN.reset(token))


def lang_option(func: F) -> F:
    return click.option(
        "--lang",
        type=click.Choice(["en", "ja"]),
        default=None,
        callback=_set_lang,
        help="Language of the messages (default: HYOUKA_LANG, then the locale).",
    )(func)


def project_option(func: F) -> F:
    return click.option(
        "--project",
        "-p",
        "project_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        envvar="HYOUKA_PROJECT",
        help="Project folder (holding hyouka.yaml).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def export_file_options(func: F) -> F:
    """``--output/-o FILE`` and ``--format`` (else from the file's suffix) of the exports."""
    func = click.option(
        "--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None
    )(func)
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help="File to write (.jsonl, .csv or .parquet).",
    )(func)


def open_workspace(project_dir: Path) -> Workspace:
    from hyouka.api import Workspace

    return Workspace.open(project_dir)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fmt_num(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@dataclass(frozen=True)
class Col:
    """A column of :func:`fit_table`.

    ``keep``: an id people copy (a run id, a variant name or version): never cut or wrapped.
    ``drop``: 0 keeps the column always; above 0 it may be left out when the table is wider
    than the terminal, the highest first. Other columns wrap (folding long words) instead.
    """

    header: str
    keep: bool = False
    drop: int = 0
    justify: JustifyMethod = "left"


def _cell_width(cell: str) -> int:
    from rich.text import Text

    return max((Text.from_markup(line).cell_len for line in cell.split("\n")), default=0)


def table_width(widths: Sequence[int]) -> int:
    """The width of a rich table with the default box: each column padded by one space on each
    side, and a border before, between and after the columns."""
    return sum(w + 2 for w in widths) + len(widths) + 1


def fit_table(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    lang: Lang = "en",
    width: int | None = None,
) -> Table:
    """A table that fits ``width`` (the console's): optional columns are dropped, highest
    ``drop`` first, while the cells' natural width does not fit; ``keep`` columns are never cut;
    the others wrap. A caption names the columns left out. Cells are console markup."""
    from rich.table import Table

    width = width or console.width
    natural = [
        max([_cell_width(c.header), *(_cell_width(r[i]) for r in rows)]) for i, c in enumerate(cols)
    ]
    shown = list(range(len(cols)))
    droppable = sorted((i for i, c in enumerate(cols) if c.drop), key=lambda i: (-cols[i].drop, -i))
    dropped: list[int] = []
    for i in droppable:
        if table_width([natural[j] for j in shown]) <= width:
            break
        shown.remove(i)
        dropped.append(i)
    caption = (
        t(lang, "table.dropped", cols=", ".join(cols[i].header for i in sorted(dropped)))
        if dropped
        else None
    )
    table = Table(title=title, caption=caption, caption_justify="left")
    for i in shown:
        c = cols[i]
        if c.keep:
            table.add_column(
                c.header, justify=c.justify, no_wrap=True, min_width=natural[i], overflow="ignore"
            )
        else:
            table.add_column(c.header, justify=c.justify, overflow="fold")
    for r in rows:
        table.add_row(*(r[i] for i in shown))
    return table
