"""bench/charts_compare.py's reading of the server's SVG charts with
xml.etree, as a test can without a browser: every mark, its <title> and
its geometry are in the HTML. The numbers go to uPlot's page as JSON."""

import re
import sys
import xml.etree.ElementTree as ET

SVG_NS = "{http://www.w3.org/2000/svg}"


def svg_of(html: str, kind: str) -> str:
    found = re.search(rf'<svg class="{kind}".*?</svg>', html, re.S)
    if found is None:
        sys.exit(f"no <svg class={kind}> in the page")
    return found.group(0)


def numbers_of(svg: str, kind: str) -> tuple[dict, int]:
    """The chart's numbers read back from the server's SVG (no browser), and
    how many marks carry a <title>."""
    root = ET.fromstring(svg.replace("<svg ", f'<svg xmlns="{SVG_NS[1:-1]}" ', 1))
    summary = root.find(f"{SVG_NS}title").text
    if kind == "chart":
        weeks = root.findall(f"{SVG_NS}g")
        height = 184 - 12  # alerts.outreach_chart: BOTTOM - TOP
        bars = [{r.get("class"): r for r in g.findall(f"{SVG_NS}rect")} for g in weeks]
        dots = [(float(c.get("cx")), (184 - float(c.get("cy"))) / height * 100) for c in root.iter(f"{SVG_NS}circle")]
        data = {
            "kind": "reports",
            "summary": summary,
            "labels": [re.match(r"Week of ([^:]+):", g.find(f"{SVG_NS}title").text).group(1) for g in weeks],
            "fetched": [float(b["chart-fetched"].get("height")) / height * 100 for b in bars],
            "opened": [float(b["chart-opened"].get("height")) / height * 100 for b in bars],
            "replied": [
                _dot(dots, float(b["chart-fetched"].get("x")) + float(b["chart-fetched"].get("width")) / 2)
                for b in bars
            ],
            "css": "chart",
        }
        return data, len(weeks)
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    shade = [[0] * 24 for _ in days]
    marks = 0
    for rect in root.iter(f"{SVG_NS}rect"):
        title = rect.find(f"{SVG_NS}title")
        if title is not None:
            day, hour = re.match(r"(\w+) (\d+):00", title.text).groups()
            shade[days.index(day)][int(hour)] = int(rect.get("class").split("-")[1])
            marks += 1
    return {
        "kind": "grid",
        "css": "week-grid",
        "summary": summary,
        "days": [d[:3] for d in days],
        "shade": shade,
    }, marks


def _dot(dots: list[tuple[float, float]], x: float) -> float | None:
    """The replied share drawn at x (the week's centre), or None (no email sent that week)."""
    near = [share for cx, share in dots if abs(cx - x) < 1]
    return near[0] if near else None
