"""The QA report's parts for issue 19 (core.migration.qa_page renders them): the shift arrow over each
thumbnail, the shift and change line of each caption, the "check these labels" list (change outliers of
the run, core.quality.change.outliers) and the shift magnitudes for their histogram."""
import html
import math
from typing import List, Optional, Sequence

from .change import outliers

STYLE = """
.thumb{position:relative;display:block}
.thumb svg.shift{position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none}
svg.shift line{stroke:#ffd400;stroke-width:3}svg.shift polygon{fill:#ffd400}
.quality.flagged{color:#a12a2a;font-weight:600}.quality.moved{color:#1e5fa1;font-weight:600}
"""
ARROW_FULL_PX = 50.0  # an arrow spans the thumbnail's half-width at this many metres (longer ones are capped)


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def number(value) -> Optional[float]:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def shift_of(row: dict) -> Optional[float]:
    """The shift's length in metres, None when unknown."""
    x, y = number(row.get("shift_x_m")), number(row.get("shift_y_m"))
    return None if x is None or y is None else math.hypot(x, y)


def shift_arrow(row: dict, width: int, height: int) -> str:
    """An SVG overlay: an arrow from the thumbnail's centre along the shift (east right, north up), or ''."""
    x, y = number(row.get("shift_x_m")), number(row.get("shift_y_m"))
    if x is None or y is None or not (x or y):
        return ""
    length = math.hypot(x, y)
    scale = min(1.0, length / ARROW_FULL_PX) * 0.45 * min(width, height) / length
    cx, cy = width / 2, height / 2
    tx, ty = cx + x * scale, cy - y * scale
    ux, uy = (tx - cx) / max(1e-9, math.hypot(tx - cx, ty - cy)), (ty - cy) / max(1e-9, math.hypot(tx - cx, ty - cy))
    head = [(tx, ty), (tx - 9 * ux - 5 * uy, ty - 9 * uy + 5 * ux), (tx - 9 * ux + 5 * uy, ty - 9 * uy - 5 * ux)]
    points = " ".join(f"{px:.1f},{py:.1f}" for px, py in head)
    return (f'<svg class="shift" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
            f'data-shift-x="{x:g}" data-shift-y="{y:g}"><title>shift {length:.1f} m</title>'
            f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{tx:.1f}" y2="{ty:.1f}"/><polygon points="{points}"/></svg>')


def caption_line(row: dict, flagged: bool) -> str:
    """'shift 12.3 m (x 10, y -7) · confidence 0.91 · moved 12 m · change 0.04' as HTML, or ''."""
    parts = []
    length, confidence = shift_of(row), number(row.get("shift_confidence"))
    if length is not None:
        parts.append(f'shift {length:.1f} m (x {number(row.get("shift_x_m")):g}, y {number(row.get("shift_y_m")):g})')
    elif confidence is not None:
        parts.append("shift unknown")
    if confidence is not None:
        parts.append(f"confidence {confidence:.2f}")
    moved = number(row.get("label_moved_m"))
    if moved:
        parts.append(f'<span class="quality moved">label moved {moved:.1f} m</span>')
    change = number(row.get("change_score"))
    if change is not None:
        css = "quality flagged" if flagged else "quality"
        parts.append(f'<span class="{css}">change {change:.2f}{" – check" if flagged else ""}</span>')
    return "<br>" + " · ".join(parts) if parts else ""


def flagged(pairs: Sequence[dict]) -> List[bool]:
    """Per pair: is its change score an outlier of the run?"""
    return outliers([number(row.get("change_score")) for row in pairs])


def check_section(pairs: Sequence[dict], figures: Sequence[str], flags: Sequence[bool]) -> List[str]:
    """The 'check these labels' heading, a note and the flagged pairs' figures."""
    chosen = [figure for figure, flag in zip(figures, flags) if flag]
    scored = sum(number(row.get("change_score")) is not None for row in pairs)
    out = [f'<h2 id="check">Check these labels ({len(chosen)})</h2>',
           '<p class="meta">Pairs whose change score (how badly the Sentinel-2 pixels fit the label: 0 they fit, '
           '1 a class is no longer recognisable) stands out from the run: above the median by more than three '
           f'robust standard deviations; {scored} of {len(pairs)} pairs were scored. The ground may have '
           'changed between the two acquisitions, or the label may be wrong.</p>']
    if chosen:
        out += ['<div class="thumbs">', *chosen, '</div>']
    else:
        out.append('<p class="empty">None stands out.</p>')
    return out


def moved_note(pairs: Sequence[dict]) -> str:
    moved = [row for row in pairs if number(row.get("label_moved_m"))]
    if not moved:
        return ""
    items = ", ".join(f'{_e(row.get("label"))} ({number(row.get("label_moved_m")):.1f} m)' for row in moved)
    return f'<p class="meta moved-labels">Labels moved onto the Sentinel-2 pixels by their shift: {items}.</p>'
