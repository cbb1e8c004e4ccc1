"""`posebatch report OUT` in a real headless browser (Debian's Chromium): the page loads
offline, its parts are there and drawn, and it asks the network for nothing."""
from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from .helpers import posebatch


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium's own services (updates, sign-in, time), contacted by the browser whatever the page
_BROWSER_HOSTS = re.compile(r"^https?://[^/]*\.(google\.com|googleapis\.com|gvt1\.com)/")


def chromium(*args, tmp) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (Debian's package `chromium`; .ci/run installs it)")
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={tmp / 'profile'}", "--hide-scrollbars", *args],
        capture_output=True, text=True, timeout=180)


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_report_page_in_a_headless_browser(full_run, walk_dir, tmp_path):
    out, _ = full_run
    r = posebatch("report", out)
    assert r.returncode == 0, r.stderr
    page = out / "report.html"
    assert f"report: {page}" in r.stdout
    shot, netlog = tmp_path / "page.png", tmp_path / "net.json"
    res = chromium("--window-size=1280,2000", f"--screenshot={shot}",
                   f"--log-net-log={netlog}", page.as_uri(), tmp=tmp_path)
    assert shot.exists(), res.stderr[-2000:]
    dom = chromium("--dump-dom", page.as_uri(), tmp=tmp_path).stdout
    parser = _Elements()
    parser.feed(dom)
    ids = {a.get("id") for _, a in parser.tags}
    assert {"title", "totals", "params", "video-0", "video-1"} <= ids
    imgs = [a["src"] for t, a in parser.tags if t == "img"]
    assert len(imgs) >= 2 * 7                      # per video 6 frames and the plots
    assert all(src.startswith("data:image/") for src in imgs)
    assert not [t for t, _ in parser.tags if t in ("script", "link", "iframe")]
    for name in (f"{walk_dir.name}/a/clip.mp4", "Tracks", "Parameters", "Versions"):
        assert name in dom
    # drawn: the screenshot is a page with pictures, not a blank or an error page
    import cv2

    img = cv2.imread(str(shot))
    assert img.shape[:2] == (2000, 1280) and img.std() > 30
    assert (np.abs(np.diff(img.astype(int), axis=1)).sum(2) > 60).mean() > 0.01
    # offline by construction: the page forbids every fetch but inline pictures and styles
    # (its Content-Security-Policy), and names nothing outside itself (links to the renders
    # beside it are relative): checked on the file, not through the browser, whose own
    # requests the policy would already block
    text = page.read_text()
    csp = re.findall(r"http-equiv='Content-Security-Policy' content=\"([^\"]+)\"", text)
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    refs = re.findall(r"""(?:src|href|url)\s*[=(]\s*['"]?([^'")\s>]+)""", text)
    assert refs and not [u for u in refs if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", u, re.I)
                         or (":" in u.split("/")[0] and not u.startswith("data:"))]
    # and through the browser: nothing the page asked for went to the network
    urls = set(re.findall(r'"url":"([^"]+)"', netlog.read_text()))
    page_requests = [u for u in urls if re.match(r"^(https?|wss?|ftp)://", u)
                     and not _BROWSER_HOSTS.match(u)]
    assert page_requests == []
