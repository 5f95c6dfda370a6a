"""The report as data: sections of paragraphs, bullet lists, tables and figures.

Sections (``reports.sections``) build it; renderers (``reports.render.markdown``,
``reports.render.html_page``) turn the same document into markdown and HTML.
Text may use ``code`` spans and **bold**, nothing else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    caption: str = ""
    name: str = ""  # stable name: a named table is also logged to W&B (reports.tables)

    def cells(self) -> pd.DataFrame:
        """The frame as display strings: floats to 4 significant figures, missing as ``-``."""
        return self.frame.astype(object).map(_cell)


@dataclass(frozen=True)
class Figure:
    name: str  # file stem, unique within the report
    png: bytes
    caption: str


Block = Paragraph | Bullets | Table | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


def _cell(v: object) -> str:
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()  # numpy scalar -> Python scalar
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
