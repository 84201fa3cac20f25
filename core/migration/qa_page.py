"""The QA report's page: the summary, the histograms (inline SVG), the pairs' figures and the tables, as one
self-contained HTML document (core.migration.qa_report writes it and the thumbnails it links)."""
import html
import math
import os
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote

from ..quality import report_sections as quality
from .match_table import COLUMNS, NUMERIC_COLUMNS, PATH_COLUMNS, STATUSES, is_finished

_PERCENT_EDGES = tuple(range(0, 101, 10))


# --- values ---------------------------------------------------------------------------------------

def text_of(value) -> str:
    return "" if value is None else str(value)


def _number(value) -> Optional[float]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _format_number(value, digits: int = 1) -> str:
    number = _number(value)
    if number is None:
        return "–"
    if number == int(number):
        return str(int(number))
    return f"{number:.{digits}f}"


def _format_offset(value) -> str:
    number = _number(value)
    if number is None:
        return "–"
    return ("+" if number > 0 else "") + _format_number(number) + " d"


def _date_part(value) -> str:
    text = text_of(value).strip()
    return text[:10] if len(text) >= 10 and text[4:5] == "-" else (text or "–")


def _e(value) -> str:
    return html.escape(text_of(value), quote=True)


# --- histograms -----------------------------------------------------------------------------------

def histogram_bins(values: Sequence[float], edges: Optional[Sequence[float]] = None,
                   max_bins: int = 20) -> Tuple[List[float], List[int]]:
    """Bin edges and counts. Without edges, integer-friendly widths (1, 2, 5, 10...) are chosen.

    Given edges clamp values outside them into the first or last bin; the last bin is closed.
    """
    if edges is None:
        low, high = min(values), max(values)
        width = 1.0
        while math.floor(high / width) - math.floor(low / width) + 1 > max_bins:
            width = _next_width(width)
        start = math.floor(low / width) * width
        count = int(math.floor(high / width) - math.floor(low / width)) + 1
        edges = [start + i * width for i in range(count + 1)]
    edges = list(edges)
    counts = [0] * (len(edges) - 1)
    for value in values:
        index = 0
        while index < len(counts) - 1 and value >= edges[index + 1]:
            index += 1
        counts[index] += 1
    return edges, counts


def _next_width(width: float) -> float:
    magnitude = 10 ** math.floor(math.log10(width))
    for factor in (1, 2, 5, 10):
        if factor * magnitude > width:
            return factor * magnitude
    return 10 * magnitude


def _histogram_svg(name: str, axis_label: str, values: Sequence[float], edges=None) -> str:
    width, height = 420, 220
    left, right, top, bottom = 48, 12, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    total = len(values)
    if not values:
        return f'<p class="empty">No values of {_e(axis_label.lower())} among the finished pairs.</p>'
    edges, counts = histogram_bins(values, edges)
    peak = max(counts)
    bar_w = plot_w / len(counts)
    parts = [f'<svg class="histogram" data-name="{_e(name)}" data-total="{total}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{_e(axis_label)}: {total} pairs</title>']
    for index, count in enumerate(counts):
        bar_h = plot_h * count / peak
        low, high = _format_number(edges[index]), _format_number(edges[index + 1])
        parts.append(
            f'<rect class="bar" data-count="{count}" x="{left + index * bar_w + 1:.1f}" '
            f'y="{top + plot_h - bar_h:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{bar_h:.1f}">'
            f'<title>{_e(low)} to {_e(high)}: {count}</title></rect>')
    axis_y = top + plot_h
    parts.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}"/>')
    parts.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{axis_y}"/>')
    tick_step = edges[1] - edges[0]
    while (edges[-1] - edges[0]) / tick_step > 8:
        tick_step = _next_width(tick_step)
    for index, edge in enumerate(edges):
        if abs(edge / tick_step - round(edge / tick_step)) > 1e-9:
            continue
        x = left + index * bar_w
        parts.append(f'<line class="axis" x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}"/>'
                     f'<text x="{x:.1f}" y="{axis_y + 16}" text-anchor="middle">'
                     f'{_e(_format_number(edges[index]))}</text>')
    for value in sorted({0, peak // 2, peak}):
        y = axis_y - plot_h * value / peak
        parts.append(f'<line class="axis" x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}"/>'
                     f'<text x="{left - 7}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    parts.append(f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 8}" '
                 f'text-anchor="middle">{_e(axis_label)}</text>')
    parts.append(f'<text class="axis-title" transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">Pairs</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- the page -------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:1.5em;margin:0 0 4px}
h2{font-size:1.2em;margin:28px 0 10px;border-bottom:1px solid #d5dae1;padding-bottom:4px}
.meta{color:#5a6472;margin:0 0 16px}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:0;padding:0;list-style:none}
.counts li{border:1px solid #d5dae1;border-radius:6px;padding:8px 14px;min-width:90px}
.counts b{display:block;font-size:1.4em}
.thumbs{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;width:260px;border:1px solid #d5dae1;border-radius:6px;padding:6px;background:#f7f8fa}
figure img{display:block;margin:0 auto;image-rendering:pixelated;background:#000}
figcaption{font-size:.8em;margin-top:6px;overflow-wrap:anywhere}
figcaption .label{font-weight:600;font-size:1.1em}
.missing{height:120px;display:flex;align-items:center;justify-content:center;text-align:center;color:#a12a2a;font-size:.8em}
.histograms{display:flex;flex-wrap:wrap;gap:18px}
.histograms figure{width:auto;background:#fff}
svg.histogram .bar{fill:#3b6fb6}svg.histogram .axis{stroke:#1d2430;stroke-width:1}
svg.histogram text{font-size:11px;fill:#1d2430}svg.histogram .axis-title{font-size:12px;font-weight:600}
table{border-collapse:collapse;font-size:.85em}
th,td{border:1px solid #d5dae1;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right}.scroll{overflow-x:auto}table.matches td{white-space:nowrap}
.status-done{color:#1e7a35}.status-failed{color:#a12a2a;font-weight:600}.status-skipped{color:#8a5a00}
.status-no-scene{color:#6b4fa0}
""" + quality.STYLE


def render_page(title: str, rows: List[dict], pairs: List[dict], thumbnails: List[dict], now: datetime) -> str:
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f'<title>{_e(title)}</title><style>{_STYLE}</style></head><body>',
           f'<h1>{_e(title)}</h1>',
           f'<p class="meta">Written <time datetime="{_e(now.isoformat(timespec="seconds"))}">'
           f'{_e(now.strftime("%Y-%m-%d %H:%M %Z").strip())}</time></p>']
    out += _summary(rows, pairs)
    flags = quality.flagged(pairs)
    figures = [_figure(row, thumbnail, flag) for row, thumbnail, flag in zip(pairs, thumbnails, flags)]
    if any(quality.number(row.get("change_score")) is not None for row in pairs):
        out += quality.check_section(pairs, figures, flags)
    out.append(f'<h2 id="pairs">Pairs ({len(pairs)})</h2>')
    if pairs:
        out.append(quality.moved_note(pairs))
        out += ['<div class="thumbs">', *figures, "</div>"]
    else:
        out.append('<p class="empty">No pair was written.</p>')
    out += _distributions(pairs)
    problems = [row for row in rows if not is_finished(row)]
    out.append(f'<h2 id="problems">Labels failed, skipped or without a scene ({len(problems)})</h2>')
    if problems:
        out.append(_table(problems, ("label", "status", "scene", "reason"), "problems"))
    else:
        out.append('<p class="empty">None: every label has a pair.</p>')
    out.append(f'<h2 id="matches">All matches ({len(rows)})</h2>')
    out.append('<p class="meta">footprint_cloud_pct: cloud and cloud shadow over the label footprint (SCL classes '
               '3, 8, 9, 10, or the cloud model\'s cloud and shadow classes); footprint_shadow_pct: the shadow part '
               'of it, empty where the cloud model has no shadow class; for Landsat pairs, qa_pixel\'s dilated '
               'cloud, cirrus, cloud and cloud shadow bits. The cloud masks (masks/) hold 1 cloud, 2 cloud shadow, '
               '0 clear, 255 nodata: from the cloud model, else SCL; for Landsat pairs always from qa_pixel (its '
               'cloud bits as 1, cloud shadow as 2, fill as 255); each mask names its source in its '
               'CLOUD_MASK_SOURCE metadata.</p>')
    out.append(_table(rows, _columns(rows), "matches"))
    out.append("</body></html>\n")
    return "\n".join(out)


def _summary(rows: List[dict], pairs: List[dict]) -> List[str]:
    counts: Dict[str, int] = {}
    for row in rows:
        status = text_of(row.get("status")).strip().lower() or "unknown"
        if status == "skipped" and is_finished(row):
            status = "skipped (already done)"
        counts[status] = counts.get(status, 0) + 1
    order = ["done", "skipped (already done)", "skipped", "failed", "no scene"]
    order += sorted(status for status in counts if status not in order)
    items = [("Labels", len(rows), "labels"), ("Pairs written", len(pairs), "pairs")]
    items += [(status, counts.get(status, 0), "status") for status in order
              if status in counts or status in STATUSES]
    out = ['<h2 id="summary">Summary</h2>', '<ul class="counts">']
    out += [f'<li class="count" data-kind="{_e(kind)}" data-status="{_e(name)}"><b>{count}</b>{_e(name)}</li>'
            for name, count, kind in items]
    out.append("</ul>")
    return out


def _figure(row: dict, thumbnail: dict, flagged: bool = False) -> str:
    if "src" in thumbnail:
        picture = (f'<div class="thumb" style="width:{thumbnail["width"]}px;margin:0 auto">'
                   f'<img src="{_e(thumbnail["src"])}" width="{thumbnail["width"]}" '
                   f'height="{thumbnail["height"]}" alt="{_e(row.get("label"))}" loading="lazy">'
                   f'{quality.shift_arrow(row, thumbnail["width"], thumbnail["height"])}</div>')
    else:
        picture = f'<div class="missing">No thumbnail: {_e(thumbnail["error"])}</div>'
    caption = (
        f'<span class="label">{_e(row.get("label"))}</span><br>'
        f'{_e(row.get("scene") or "–")}<br>'
        f'<span title="{_e(row.get("datetime"))}">{_e(_date_part(row.get("datetime")))}</span>'
        f' · offset {_e(_format_offset(row.get("offset_days")))}<br>'
        f'footprint cloud {_e(_format_number(row.get("footprint_cloud_pct")))} %'
        + (f' (of which shadow {_e(_format_number(row.get("footprint_shadow_pct")))} %)'
           if text_of(row.get("footprint_shadow_pct")).strip() else '') +
        f' · nodata {_e(_format_number(row.get("nodata_pct")))} %' + quality.caption_line(row, flagged))
    return f'<figure class="pair">{picture}<figcaption>{caption}</figcaption></figure>'


def _distributions(pairs: List[dict]) -> List[str]:
    out = ['<h2 id="distributions">Distributions over the pairs written</h2>', '<div class="histograms">']
    for key, label, edges in (("offset_days", "Offset from the label date (days)", None),
                              ("footprint_cloud_pct", "Cloud and cloud shadow over the label footprint (%)",
                               _PERCENT_EDGES),
                              ("scene_cloud_pct", "Cloud over the whole scene (%)", _PERCENT_EDGES),
                              ("shift_m", "Shift of the source image against Sentinel-2 (m)", None),
                              ("change_score", "Change score (0 the pixels fit the label)",
                               tuple(round(i * 0.05, 2) for i in range(21)))):
        values = [number for number in ((quality.shift_of(row) if key == "shift_m" else _number(row.get(key)))
                                        for row in pairs) if number is not None]
        missing = len(pairs) - len(values)
        note = f"{len(values)} pairs" + (f", {missing} without a value" if missing else "")
        out.append(f'<figure>{_histogram_svg(key, label, values, edges)}'
                   f'<figcaption>{_e(label)}: {_e(note)}</figcaption></figure>')
    out.append("</div>")
    return out


def _columns(rows: Iterable[dict]) -> List[str]:
    columns = list(COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


_NUMERIC = frozenset(NUMERIC_COLUMNS)


def _table(rows: List[dict], columns: Sequence[str], name: str) -> str:
    out = [f'<div class="scroll"><table class="{_e(name)}"><thead><tr>']
    out += [f"<th>{_e(column)}</th>" for column in columns]
    out.append("</tr></thead><tbody>")
    for row in rows:
        status = text_of(row.get("status")).strip().lower()
        out.append("<tr>")
        for column in columns:
            value = text_of(row.get(column))
            if column in PATH_COLUMNS and value and not value.startswith("/vsi") \
                    and not os.path.isabs(value):
                cell = f'<a href="{_e(quote(value.replace(os.sep, "/"), safe="/"))}">{_e(value)}</a>'
            elif column in _NUMERIC:
                out.append(f'<td class="num">{_e(_format_number(value, 2) if value.strip() else "")}</td>')
                continue
            else:
                cell = _e(value)
            css = f' class="status-{_e(status.replace(" ", "-"))}"' if column == "status" else ""
            out.append(f"<td{css}>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)
