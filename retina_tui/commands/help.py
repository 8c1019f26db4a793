"""`--help` with the options listed under headings (click has no option groups).

A command made with `cls=SectionedCommand, sections={"Heading": ("param", ...)}` lists
each heading's options in that order (`help` names --help); options no heading names
come last, under "Other options".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click


class SectionedCommand(click.Command):
    """A click command whose help groups its options under headings."""

    def __init__(
        self, *args: Any, sections: Mapping[str, tuple[str, ...]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sections = dict(sections or {})

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {}
        help_option = self.get_help_option(ctx)
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            name = "help" if param is help_option else param.name
            if record is not None and name is not None:
                records[name] = record
        for heading, names in self.sections.items():
            rows = [records.pop(name) for name in names if name in records]
            if rows:
                with formatter.section(heading):
                    formatter.write_dl(rows)
        if records:
            with formatter.section("Other options"):
                formatter.write_dl(list(records.values()))
