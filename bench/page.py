"""7. The page's first load (/?project=demo) in Debian's chromium: requests and bytes over
the wire, media (video/audio the browser streams lazily) reported separately."""

from __future__ import annotations

import time

from .common import Context, Figure

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
TARGET_BYTES = 150 * 1024


def run(ctx: Context) -> None:
    from playwright.sync_api import sync_playwright

    finished, failed = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_context().new_page()
            page.on("requestfinished", lambda request: finished.append(request))
            page.on("requestfailed", lambda request: failed.append(request))  # e.g. media the browser cut off
            started = time.perf_counter()
            page.goto(f"{ctx.stack.api_url}/?project=demo", wait_until="networkidle", timeout=30000)
            loaded = time.perf_counter() - started
            page.wait_for_timeout(500)
            rows = []
            for request in list(finished) + list(failed):
                response = request.response()
                kind = (response.headers.get("content-type", "") if response else "").split(";")[0]
                sizes = request.sizes() if request in finished else {"responseBodySize": 0, "responseHeadersSize": 0}
                body, headers = sizes["responseBodySize"], sizes["responseHeadersSize"]
                media = request.resource_type == "media" or kind.startswith(("video/", "audio/"))
                rows.append({"url": request.url, "type": kind, "media": media, "body": max(0, body),
                             "wire": max(0, body) + max(0, headers)})
        finally:
            browser.close()
    first = [r for r in rows if not r["media"]]
    media = [r for r in rows if r["media"]]
    total = sum(r["wire"] for r in first)
    ctx.data["page"] = {"rows": rows, "load_s": loaded}
    biggest = sorted(first, key=lambda r: -r["wire"])[:3]
    ctx.add(
        Figure("7 page", "first load, excluding media: bytes (headers + bodies), requests",
               f"{total / 1024:.1f} KB, {len(first)} requests", "≤ 150 KB", total <= TARGET_BYTES,
               note="largest: " + ", ".join(f"{r['url'].rsplit('/', 1)[-1] or '/'} {r['wire'] / 1024:.1f} KB"
                                            for r in biggest)),
        Figure("7 page", "media streamed lazily (video/audio)",
               f"{sum(r['wire'] for r in media) / 1024:.1f} KB, {len(media)} requests"),
        Figure("7 page", "time to network idle", f"{loaded:.2f} s"),
    )
