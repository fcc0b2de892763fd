"""The charts two ways, in headless Chromium, in one run: the app's
server-rendered SVG as built, and the same numbers drawn by uPlot (the npm
devDependency; bench/charts/draw.js), for the Reports chart and the
contact's reading-times grid. For the choice of how the app draws charts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/onepage_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/charts_compare.py [runs] [--org NAME] [--shots DIR]

The database is bench/contact_grid.py's (run it first: it fills it); the
pages are those of NAME's admin ("Outreach bench: big organization" by
default; its heaviest contact). The app runs under granian with the
production settings (collectstatic into a temporary folder); in front of it
bench/charts_proxy.py serves, on one origin, each page's HTML as the
server gave it (SVG) and the same HTML with the <svg> swapped for a <div>,
the numbers as JSON and uPlot's JS and CSS (uPlot), both from memory, so
that the server's time is in neither and both load the app's own CSS and
JS alike. The numbers for uPlot are read back from the server's SVG with
xml.etree, as a test without a browser can.

Each run opens each page each way in a fresh browser context (cold cache,
then the same page again: warm cache), 1280 x 900, alternating which way
goes first. Render time: from navigation start to the first animation frame
after the chart is in the document with a width (the uPlot one: after its
draw hook). Page weight: the bodies of the document and every resource,
uncompressed and gzipped (level 6), and the chart's own part.
"""

import gzip
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from charts_proxy import Front, Served
from charts_svg import numbers_of, svg_of
from playwright.sync_api import sync_playwright
from servers import LOCAL, ROOT, production_env
from servers import start as start_server
from servers import stop as stop_server

UPLOT = ROOT / "node_modules" / "uplot" / "dist"
DRAW = Path(__file__).resolve().parent / "charts" / "draw.js"
ASSETS = {
    "/bench-charts/uPlot.iife.min.js": (UPLOT / "uPlot.iife.min.js", "text/javascript"),
    "/bench-charts/uPlot.min.css": (UPLOT / "uPlot.min.css", "text/css"),
    "/bench-charts/draw.js": (DRAW, "text/javascript"),
}
HEAD = "".join(
    ['<link rel="stylesheet" href="/bench-charts/uPlot.min.css">',
     '<script src="/bench-charts/uPlot.iife.min.js" defer></script>',
     '<script src="/bench-charts/draw.js" defer></script>']
)  # fmt: skip
READY = """(() => {
  const selector = %s;
  const seen = () => {
    const el = document.querySelector(selector);
    return el && el.getBoundingClientRect().width > 0;
  };
  const watch = new MutationObserver(() => {
    if (seen()) { watch.disconnect(); requestAnimationFrame(() => { window.__chartReady = performance.now(); }); }
  });
  watch.observe(document, {childList: true, subtree: true, attributes: true});
})();"""
SELECTORS = {"svg": "svg.chart, svg.week-grid", "uplot": "#bench-chart[data-drawn] canvas"}
CHILD = """
import json, django
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from contacts.models import Contact
from onepage.models import Membership, User
org = %r
admin = User.objects.get(membership__organization__name=org, membership__role=Membership.Role.ADMIN)
session = SessionStore()
session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(admin.pk), "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
session.create()
# bench/contact_grid.py's heavy contact (tracked by name), else the first.
contacts = Contact.objects.filter(organization__name=org).order_by("pk")
heavy = contacts.filter(first_name="Heavy").first() or contacts.first()
print(json.dumps({"session": session.session_key, "contact": heavy.pk}))
"""


def uplot_page(html: str, svg: str, data: dict) -> str:
    """The page with its <svg> swapped for uPlot's holder (the svg's class, for the same width) and the numbers."""
    payload = json.dumps(data).replace("<", "\\u003c")
    holder = f'<div id="bench-chart" class="{data["css"]}"></div>'
    holder += f'<script type="application/json" id="bench-chart-data">{payload}</script>'
    return html.replace(svg, holder).replace("</head>", HEAD + "</head>", 1)


def visit(browser, url: str, way: str, session: str, port: int, shot: str = "") -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session, "domain": LOCAL, "path": "/"}])
    context.add_init_script(READY % json.dumps(SELECTORS[way]))
    page = context.new_page()
    out = {}
    for visit_kind in ("cold", "warm"):
        page.goto(f"http://{LOCAL}:{port}{url}", wait_until="load")
        page.wait_for_function("() => window.__chartReady !== undefined", timeout=15_000)
        out[visit_kind] = page.evaluate("window.__chartReady")
        if visit_kind == "cold":
            out["resources"] = page.evaluate(
                """[performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
                   .map(e => [new URL(e.name).pathname, e.decodedBodySize])"""
            )
            out["canvases"] = page.locator("#bench-chart canvas").count()
            out["titles"] = page.locator("svg.chart title, svg.week-grid title").count()
            if shot:  # to look at: the same numbers both ways
                page.locator("#bench-chart" if way == "uplot" else SELECTORS["svg"]).first.screenshot(path=shot)
    context.close()
    return out


def weight(front: Front, resources: list, only: set | None = None) -> tuple[int, int]:
    bodies = [front.bodies.get(path, b"") for path, _ in resources if only is None or path in only]
    return sum(map(len, bodies)), sum(len(gzip.compress(b, 6)) for b in bodies)


def main() -> None:
    argv = sys.argv[1:]
    org = argv.pop(argv.index("--org") + 1) if "--org" in argv else "Outreach bench: big organization"
    shots = argv.pop(argv.index("--shots") + 1) if "--shots" in argv else ""
    runs = int(next((a for a in argv if not a.startswith("--")), 15))
    workdir = Path(tempfile.mkdtemp(prefix="charts-compare-"))
    env = production_env(str(workdir / "static"))
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    child = subprocess.run([sys.executable, "-c", CHILD % org], cwd=ROOT, env=env, capture_output=True, text=True)
    if child.returncode:
        sys.exit(child.stderr)
    ids = json.loads(child.stdout)
    server, upstream = start_server("granian wsgi, 2 workers", env)
    front = Front(upstream)
    try:
        front.start()
        for path, (file, kind) in ASSETS.items():
            front.pages[path] = Served(file.read_bytes(), {"Content-Type": kind, "Cache-Control": "max-age=31536000"})
        charts = {"Reports, 12 weeks": ("/reports/", "chart"), "Reports, 52 weeks": ("/reports/?weeks=52", "chart"),
                  "Reading times (contact page)": (f"/contacts/{ids['contact']}/", "week-grid")}  # fmt: skip
        pages, marks = {}, {}
        for n, (label, (url, kind)) in enumerate(charts.items()):
            status, headers, body = front.forward(url, f"sessionid={ids['session']}")
            if status != 200:
                sys.exit(f"{label}: {url} answered {status}")
            html = body.decode()
            svg = svg_of(html, kind)
            data, marks[label] = numbers_of(svg, kind)
            headers["Cache-Control"] = "no-store"
            for way, text in (("svg", html), ("uplot", uplot_page(html, svg, data))):
                front.pages[f"/bench-charts/{n}/{way}/"] = Served(text.encode(), headers)
            pages[label] = (n, len(svg.encode()), len(gzip.compress(svg.encode(), 6)), data)
        results = {(label, way): [] for label in pages for way in ("svg", "uplot")}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for run in range(runs + 1):  # the first run warms the server and the browser: not kept
                for label, (n, *_) in pages.items():
                    for way in ("svg", "uplot") if run % 2 else ("uplot", "svg"):
                        shot = f"{shots}/chart-{n}-{way}.png" if shots and not run else ""
                        got = visit(browser, f"/bench-charts/{n}/{way}/", way, ids["session"], front.port, shot)
                        if run:
                            results[label, way].append(got)
            browser.close()
        report(front, pages, marks, results, runs)
    finally:
        front.stop()
        stop_server(server)
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def report(front: Front, pages: dict, marks: dict, results: dict, runs: int) -> None:
    chart_files = set(ASSETS)
    print(f"\n{runs} runs each, headless Chromium 1280 x 900, medians; bytes uncompressed / gzip -6\n")
    head = f"{'chart':30} {'way':6} {'page bytes':>17} {'chart bytes':>15} {'cold ms':>8} {'warm ms':>8}"
    head += f" {'test sees':>30}"
    print(head + "\n" + "-" * len(head))
    for label, (_, svg_raw, svg_gz, data) in pages.items():
        row = {}
        for way in ("svg", "uplot"):
            got = results[label, way]
            page_raw, page_gz = weight(front, got[0]["resources"])
            if way == "svg":
                chart_raw, chart_gz = svg_raw, svg_gz
                sees = f"{marks[label]} marks with <title> in HTML"
            else:
                payload = json.dumps(data).encode()
                js_raw, js_gz = weight(front, got[0]["resources"], chart_files)
                chart_raw, chart_gz = js_raw + len(payload), js_gz + len(gzip.compress(payload, 6))
                sees = f"{got[0]['canvases']} canvas, {got[0]['titles']} titles (browser)"
            cold = statistics.median(g["cold"] for g in got)
            warm = statistics.median(g["warm"] for g in got)
            row[way] = (page_raw, page_gz, chart_raw, chart_gz, cold, warm)
            print(f"{label:30} {way:6} {page_raw:>8,}/{page_gz:>8,} {chart_raw:>7,}/{chart_gz:>7,}"
                  f" {cold:>8.1f} {warm:>8.1f} {sees:>30}")  # fmt: skip
        ratios = [u / s for u, s in zip(row["uplot"], row["svg"], strict=True)]
        print(f"{'':30} {'u/s':6} {ratios[0]:>8.2f}/{ratios[1]:>8.2f} {ratios[2]:>7.2f}/{ratios[3]:>7.2f}"
              f" {ratios[4]:>8.2f} {ratios[5]:>8.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
