"""Markdown rendering of a report document (GitHub and terminals); figures are linked files."""

from __future__ import annotations

from reports.document import Bullets, Figure, Paragraph, Section, Table


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
                lines.append(block.text)
            elif isinstance(block, Bullets):
                lines += [f"- {item}" for item in block.items]
            elif isinstance(block, Table):
                lines.append(md_table(block))
            elif isinstance(block, Figure):
                lines.append(f"![{block.caption}]({figure_dir}/{block.name}.png)")
                lines += ["", f"*{block.caption}*"]
            lines.append("")
    return "\n".join(lines)
