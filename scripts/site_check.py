#!/usr/bin/env python3
"""Check a published asv site in headless Chromium: the index lists benchmarks, a graph page draws.

    scripts/site_check.py HTML_DIR [--out docs/site] [--benchmark NAME] [--expect REGEX]
                          [--vendor DIR | --fetch-vendor DIR] [--chromium PATH]

It serves HTML_DIR on 127.0.0.1, drives Chromium over the DevTools protocol (on a pipe, so no
websocket library is needed), and checks, writing screenshots to --out:

* index.png: the benchmark grid lists benchmarks (and one matching --expect, e.g. "rope");
* graph.png: one benchmark's page (--benchmark, default the first in index.json) whose flot plot has
  data points and painted pixels;
* both screenshots are not blank (grey-level variance), and no console error, uncaught exception or
  failed request happened on the way.

asv's index.html loads jQuery, flot and bootstrap from CDNs. Where there is no internet, --vendor DIR
serves them from npm packages of the same versions instead (--fetch-vendor DIR fetches them with
`npm pack`): a copy of the site is patched to load them from 127.0.0.1. Files that are byte-identical
to the CDN's keep their integrity attribute; flot's minified files and stupidtable have no identical
npm copy, so the unminified npm flot 0.8.3 and stupid-table-plugin 1.1.3 stand in, unchecked.

Exit 0 when every check passes, 1 when one fails (the report says which), 2 on bad input.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import http.server
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # headless_chromium.py beside this script, however loaded
from headless_chromium import Browser, CheckError, Page, find_browser  # noqa: E402

# CDN URL in asv 0.6.6's index.html -> (npm package, file inside it).
VENDOR = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": ("flot@0.8.3", "jquery.flot.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js":
        ("flot@0.8.3", "jquery.flot.time.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js":
        ("flot@0.8.3", "jquery.flot.selection.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js":
        ("flot@0.8.3", "jquery.flot.categories.js"),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        ("flot-orderbars@1.0.0", "js/jquery.flot.orderBars.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js":
        ("stupid-table-plugin@1.1.3", "stupidtable.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js":
        ("blueimp-md5@2.19.0", "js/md5.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js":
        ("bootstrap@3.1.1", "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        ("bootstrap@3.1.1", "dist/css/bootstrap.min.css"),
}


# ---------------------------------------------------------------- vendored CDN files


def vendor_name(url: str) -> str:
    pkg, inner = VENDOR[url]
    return pkg.replace("@", "-") + "/" + inner


def fetch_vendor(dest: Path) -> Path:
    """npm pack each package once and keep the files the site needs, under dest/<pkg-ver>/<path>."""
    if not shutil.which("npm"):
        raise CheckError("--fetch-vendor needs npm")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in sorted({p for p, _ in VENDOR.values()}):
            proc = subprocess.run(["npm", "pack", "--silent", pkg], cwd=tmp, capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode != 0:
                raise CheckError(f"npm pack {pkg} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
            tgz = Path(tmp) / proc.stdout.strip().splitlines()[-1]
            with tarfile.open(tgz) as tar:
                for url, (p, inner) in VENDOR.items():
                    if p == pkg:
                        data = tar.extractfile(f"package/{inner}").read()
                        out = dest / vendor_name(url)
                        out.parent.mkdir(parents=True, exist_ok=True)
                        out.write_bytes(data)
    return dest


def sri(data: bytes, algorithm: str) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def patch_index(html: str, vendor: Path) -> tuple[str, list[str]]:
    """Point the CDN tags at /_vendor/; keep integrity only where the local bytes match it."""
    unchecked = []

    def repl(m):
        tag = m.group(0)
        url = m.group(2)
        if url not in VENDOR:
            return tag
        local = vendor / vendor_name(url)
        if not local.is_file():
            raise CheckError(f"vendor folder lacks {vendor_name(url)} (use --fetch-vendor)")
        tag = tag.replace(url, "/_vendor/" + vendor_name(url))
        integ = re.search(r'integrity="(sha\d+)-[^"]+"', tag)
        if integ and integ.group(0) != f'integrity="{sri(local.read_bytes(), integ.group(1))}"':
            tag = tag.replace(integ.group(0), "")
            unchecked.append(url)
        return tag

    html = re.sub(r'<(script|link)\b[^>]*?(?:src|href)="(https://[^"]+)"[^>]*>', repl, html)
    return html, unchecked


# ---------------------------------------------------------------- local server


class _Handler(http.server.SimpleHTTPRequestHandler):
    failures: list

    def log_message(self, fmt, *args):  # quiet; failures are collected instead
        pass

    def send_error(self, code, message=None, explain=None):
        self.failures.append(f"HTTP {code} for {self.path}")
        super().send_error(code, message, explain)


def serve(root: Path):
    failures: list[str] = []
    handler = type("Handler", (_Handler,), {"failures": failures})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, failures


# ---------------------------------------------------------------- checks


def image_stats(png: bytes) -> dict:
    from PIL import Image, ImageStat

    img = Image.open(io.BytesIO(png)).convert("L")
    hist = img.histogram()
    background = max(range(256), key=lambda v: hist[v])
    total = img.width * img.height
    return {"variance": round(ImageStat.Stat(img).var[0], 1),
            "non_background": round(1 - hist[background] / total, 4), "size": [img.width, img.height]}


def not_blank(stats: dict) -> bool:
    return stats["variance"] > 50 and stats["non_background"] > 0.01


PLOT_POINTS = """(() => { const p = window.$ && $('#main-graph').data('plot');
  return p ? p.getData().reduce((n, s) => n + s.data.filter(d => d && d[1] !== null).length, 0) : 0; })()"""
PLOT_PIXELS = """(() => { let n = 0;
  for (const c of document.querySelectorAll('#main-graph canvas')) {
    if (!c.width || !c.height) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++; }
  return n; })()"""
GRID = """Array.from(document.querySelectorAll('#summarygrid-display a.benchmark-container'))
  .map(a => decodeURIComponent(a.getAttribute('href').replace(/^#/, '')))"""


def check_site(html_dir: Path, out: Path, exe: str, *, benchmark: str | None = None, expect: str = ".",
               vendor: Path | None = None, timeout: float = 60) -> dict:
    if not (html_dir / "index.html").is_file() or not (html_dir / "index.json").is_file():
        raise CheckError(f"{html_dir} is not an asv html folder (no index.html/index.json; run asv publish)")
    index = json.loads((html_dir / "index.json").read_text())
    names = sorted(index.get("benchmarks", {}))
    if not names:
        raise CheckError(f"{html_dir}/index.json lists no benchmarks")
    if benchmark is None:
        # Prefer a benchmark that has graph data: index.json lists the whole suite, run or not.
        drawn = {p.name[:-len(".json")] for p in (html_dir / "graphs").rglob("*.json")}
        ranked = sorted(names, key=lambda n: (not re.search(expect, n), n not in drawn, n))
        benchmark = ranked[0]
    elif benchmark not in names:
        raise CheckError(f"no benchmark {benchmark!r} in {html_dir}/index.json")

    report = {"benchmarks_in_index_json": len(names), "benchmark": benchmark, "checks": {}, "errors": []}
    with tempfile.TemporaryDirectory(prefix="site-check-") as tmp:
        root = html_dir
        if vendor is not None:
            root = Path(tmp) / "site"
            shutil.copytree(html_dir, root)
            html, unchecked = patch_index((root / "index.html").read_text(), vendor)
            (root / "index.html").write_text(html)
            shutil.copytree(vendor, root / "_vendor")
            report["vendored_without_integrity"] = unchecked
        server, http_failures = serve(root)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        browser = Browser(exe)
        try:
            page = Page(browser)
            checks = report["checks"]

            page.goto(base + "index.html")
            listed = page.wait_for(f"(() => {{ const g = {GRID}; return g.length ? g : null; }})()", timeout) or []
            time.sleep(1.5)  # let the grid's thumbnail plots paint
            checks["index_lists_benchmarks"] = len(listed) > 0
            checks["index_lists_expected"] = any(re.search(expect, n) for n in listed)
            report["listed"] = len(listed)
            stats = image_stats(page.screenshot(out / "index.png"))
            report["index_png"] = stats
            checks["index_not_blank"] = not_blank(stats)

            page.goto(base + "index.html#" + urllib.parse.quote(benchmark, safe=".()_,=-"))
            points = page.wait_for(PLOT_POINTS, timeout) or 0
            pixels = page.wait_for(PLOT_PIXELS, 10) or 0
            time.sleep(0.5)
            report["plot_points"], report["plot_pixels"] = points, pixels
            checks["graph_has_points"] = points > 0
            checks["graph_painted"] = pixels > 500
            stats = image_stats(page.screenshot(out / "graph.png"))
            report["graph_png"] = stats
            checks["graph_not_blank"] = not_blank(stats)

            report["errors"] = page.errors() + http_failures
            checks["no_console_errors"] = not report["errors"]
        finally:
            browser.close()
            server.shutdown()
    report["ok"] = all(report["checks"].values())
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html_dir", type=Path, help="asv html folder (asv publish's html_dir)")
    p.add_argument("--out", type=Path, default=Path("docs/site"), help="screenshots folder (default docs/site)")
    p.add_argument("--benchmark", default=None,
                   help="benchmark whose graph to open (default: the first matching --expect that has data)")
    p.add_argument("--expect", default=".", help="regex a listed benchmark must match (e.g. rope)")
    p.add_argument("--chromium", default=None, help="browser binary (default: $CHROMIUM, then chromium on PATH)")
    p.add_argument("--vendor", type=Path, default=None, help="serve the CDN libraries from this folder")
    p.add_argument("--fetch-vendor", type=Path, default=None, metavar="DIR",
                   help="npm pack the CDN libraries into DIR, then serve them from there")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for each page (default 60)")
    args = p.parse_args(argv)
    try:
        exe = find_browser(args.chromium)
        vendor = fetch_vendor(args.fetch_vendor) if args.fetch_vendor else args.vendor
        report = check_site(args.html_dir, args.out, exe, benchmark=args.benchmark, expect=args.expect,
                            vendor=vendor, timeout=args.timeout)
    except (CheckError, OSError, re.error) as exc:
        print(f"site_check: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    if not report["ok"]:
        failed = [k for k, v in report["checks"].items() if not v]
        print(f"site_check: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
