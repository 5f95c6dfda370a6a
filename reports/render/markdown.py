"""Markdown rendering of a report document (GitHub and terminals); figures are linked files."""

from __future__ import annotations

import textwrap

from reports.document import Bullets, Figure, Paragraph, Section, Table

WIDTH = 100  # prose is wrapped here (Markdown joins the lines back)


def wrap(text: str, first: str = "", rest: str = "") -> str:
    """``text`` wrapped at WIDTH columns, its first line prefixed ``first``, the others
    ``rest``; words and links are never split."""
    lines = text.split("\n")  # a line break the text chose is kept
    return "\n".join(
        textwrap.fill(
            line,
            WIDTH,
            initial_indent=first if i == 0 else rest,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        if line.strip()
        else line
        for i, line in enumerate(lines)
    )


def alt_text(caption: str, limit: int = 120) -> str:
    """A figure's alt text: its caption's first sentence, at most ``limit`` characters."""
    first = caption.split(". ")[0].rstrip(".")
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " …"


def md_table(table: Table) -> str:
    """A pipe table of the display cells (pipes escaped, numbers left as written)."""
    cells = table.cells().map(lambda s: s.replace("|", "\\|").replace("\n", " "))
    text = cells.to_markdown(index=False, disable_numparse=True)
    return f"{text}\n\n*{table.caption}*" if table.caption else text


def render_markdown(title: str, intro: str, sections: list[Section], figure_dir: str) -> str:
    """The whole report; figure ``name`` is linked as ``figure_dir/name.png``."""
    lines = [f"# {title}", "", intro, ""]
    lines += [f"- [{s.title}](#{s.anchor})" for s in sections] + [""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines.append(wrap(block.text))
            elif isinstance(block, Bullets):
                lines += [wrap(item, "- ", "  ") for item in block.items]
            elif isinstance(block, Table):
                lines.append(md_table(block))
            elif isinstance(block, Figure):
                lines.append(f"![{alt_text(block.caption)}]({figure_dir}/{block.name}.png)")
                lines += ["", wrap(f"*{block.caption}*")]
            lines.append("")
    return "\n".join(lines)
