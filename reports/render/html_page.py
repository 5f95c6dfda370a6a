"""One self-contained HTML file: inline CSS, figures embedded as base64 PNG, no scripts."""

from __future__ import annotations

import base64
import html
import re

from reports.document import Bullets, Figure, Paragraph, Section, Table

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1180px;
padding:0 1.2em 3em;color:#1b1b1b}
h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:2em;border-bottom:1px solid #eee}
nav a{margin-right:1em}code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
.scroll{overflow-x:auto;margin:.6em 0}table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f5f5f5}tr:nth-child(even) td{background:#fbfbfb}
td.PASS{background:#d9f2d9!important;font-weight:bold}td.FAIL{background:#f8d4d4!important;
font-weight:bold}td.INCONCLUSIVE{background:#fff1c2!important}td.INVALID{color:#b00;font-weight:bold}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{color:#555;font-size:13px}
"""
MARKED = {"PASS", "FAIL", "INCONCLUSIVE", "INVALID"}


def inline(text: str) -> str:
    """Escape ``text``; render `code` spans and **bold**."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)


def html_table(table: Table) -> str:
    cells = table.cells()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cells.columns)
    body = []
    for row in cells.itertuples(index=False):
        tds = "".join(
            f'<td class="{v}">{v}</td>' if v in MARKED else f"<td>{inline(v)}</td>" for v in row
        )
        body.append(f"<tr>{tds}</tr>")
    caption = f'<p class="caption">{inline(table.caption)}</p>' if table.caption else ""
    rows = "\n".join(body)
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>\n{rows}</table></div>{caption}'
    )


def html_figure(fig: Figure) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    alt = html.escape(fig.caption, quote=True)
    return (
        f'<figure id="fig-{fig.name}"><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{inline(fig.caption)}</figcaption></figure>"
    )


def render_html(title: str, intro: str, sections: list[Section]) -> str:
    """The whole report as one HTML document that opens offline."""
    nav = " ".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',  # no favicon request
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{inline(intro)}</p><nav>{nav}</nav>",
    ]
    for section in sections:
        parts.append(f'<section id="{section.anchor}"><h2>{html.escape(section.title)}</h2>')
        for block in section.blocks:
            if isinstance(block, Paragraph):
                parts.append(f"<p>{inline(block.text)}</p>")
            elif isinstance(block, Bullets):
                parts.append(
                    "<ul>" + "".join(f"<li>{inline(i)}</li>" for i in block.items) + "</ul>"
                )
            elif isinstance(block, Table):
                parts.append(html_table(block))
            elif isinstance(block, Figure):
                parts.append(html_figure(block))
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
