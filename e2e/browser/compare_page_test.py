#!/usr/bin/env python3
"""Browser test of the compare page (`GET /`) with headless Chromium.

Loads the page from a live `tandem serve`, picks two model ids, runs one comparison with a short
max_tokens, waits until both columns are done, checks that each shows text, prompt and completion
token counts and timings, and saves a screenshot (default docs/compare-page.png).

Server: TANDEM_URL (or --url) points at a running server; otherwise one is started from
.build/release/tandem (TANDEM_BIN, TANDEM_MODEL override) with the bundled adapters/ folder, on a
free port, and stopped at the end.

By default the page must come from the server's own `/`. With --via-proxy a small local proxy
serves the HTML taken from Sources/Server/ComparePage.swift at `/` and forwards everything else to
the server (same origin): for a binary built before the `/` route existed.

Needs: Debian's `chromium` and `chromium-driver` (apt-get install chromium chromium-driver) and
`pip install selenium`. Run: `make browser-test` or `python3 e2e/browser/compare_page_test.py`.
Exit code 0 = pass. It is a script, not a pytest module (pytest collects no test from it).
"""
from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # e2e/support.py

from support import MODEL_PATH, REPO, TANDEM_BIN, TandemServer, http_request  # noqa: E402

SWIFT_PAGE = REPO / "Sources" / "Server" / "ComparePage.swift"
DEFAULT_MODELS = ["gemma-3-270m:pirate-fewshot", "pirate-style"]
DEFAULT_MESSAGE = "What is the capital of France?"


def log(msg: str) -> None:
    print(f"[compare-page] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# The page's HTML out of the Swift source, and the --via-proxy server
# ---------------------------------------------------------------------------------------------

def page_html_from_swift(path: Path = SWIFT_PAGE) -> str:
    """The body of `static let html = #\"\"\" ... \"\"\"#` (closing delimiter at column 0)."""
    source = path.read_text(encoding="utf-8")
    match = re.search(r'#"""\n(.*?)\n"""#', source, re.DOTALL)
    if match is None:
        raise RuntimeError(f"no #\"\"\" ... \"\"\"# literal in {path}")
    return match.group(1)


class PageProxy:
    """Serves the page at `/` and forwards every other path to `upstream`, streaming the body."""

    HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
                   "proxy-connection", "te", "trailer", "upgrade"}

    def __init__(self, upstream: str, html: str):
        target = urllib.parse.urlsplit(upstream)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes: simple streaming

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                if self.command == "GET" and self.path in ("/", "/index.html"):
                    body = html.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP_HEADERS}
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
                try:
                    conn.request(self.command, self.path, body=data, headers=headers)
                    resp = conn.getresponse()
                    self.send_response(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in proxy.HOP_HEADERS:
                            self.send_header(k, v)
                    self.end_headers()
                    while True:
                        piece = resp.read1(65536)
                        if not piece:
                            break
                        self.wfile.write(piece)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    conn.close()

            do_GET = do_POST = do_DELETE = do_PUT = _forward

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "PageProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------
# Browser
# ---------------------------------------------------------------------------------------------

def find_executable(names: list[str], env: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def make_driver(width: int, height: int, profile_dir: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = find_executable(["chromium", "chromium-browser", "google-chrome"], "CHROMIUM_BIN")
    driver_bin = find_executable(["chromedriver"], "CHROMEDRIVER_BIN")
    if not browser or not driver_bin:
        raise SystemExit("chromium and chromedriver are needed: apt-get install chromium chromium-driver "
                         "(or set CHROMIUM_BIN / CHROMEDRIVER_BIN)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--disable-extensions", "--no-first-run", "--hide-scrollbars", "--force-color-profile=srgb",
                "--force-device-scale-factor=1", f"--window-size={width},{height}",
                f"--user-data-dir={profile_dir}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver_bin))


def browser_console(driver) -> str:
    try:
        return "\n".join(f"  {e.get('level')}: {e.get('message')}" for e in driver.get_log("browser"))
    except Exception:  # noqa: BLE001 - diagnostics only
        return "  (no console log)"


def run_page(driver, page_url: str, model_ids: list[str], message: str, max_tokens: int,
             timeout: float, screenshot: Path | None) -> list[dict]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver.get(page_url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.ready") == "true")
    notice = driver.find_element(By.ID, "notice").text
    assert not notice, f"the page shows a notice after loading the models: {notice!r}"

    selects = driver.find_elements(By.CSS_SELECTOR, "select.model-select")
    assert len(selects) == 4, f"expected 4 model pickers, found {len(selects)}"
    offered = [o.get_attribute("value") for o in Select(selects[0]).options if o.get_attribute("value")]
    for mid in model_ids:
        assert mid in offered, f"{mid!r} is not offered by the page (it lists {offered})"
    for i, select in enumerate(selects):
        Select(select).select_by_value(model_ids[i] if i < len(model_ids) else "")

    box = driver.find_element(By.ID, "message")
    box.clear()
    box.send_keys(message)
    mt = driver.find_element(By.ID, "max-tokens")
    mt.clear()
    mt.send_keys(str(max_tokens))
    temp = driver.find_element(By.ID, "temperature")
    temp.clear()
    temp.send_keys("0")

    t0 = time.monotonic()
    driver.find_element(By.ID, "compare").click()
    cols_css = "#results .col"
    WebDriverWait(driver, 10).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, cols_css)) == len(model_ids))

    def finished(d):
        states = [c.get_attribute("data-state") for c in d.find_elements(By.CSS_SELECTOR, cols_css)]
        return all(s in ("done", "error", "stopped") for s in states) and states

    WebDriverWait(driver, timeout, poll_frequency=0.25).until(finished)
    log(f"both columns finished after {time.monotonic() - t0:.1f} s")

    columns = []
    for col in driver.find_elements(By.CSS_SELECTOR, cols_css):
        stats = {dd.get_attribute("data-stat"): dd.text for dd in col.find_elements(By.CSS_SELECTOR, "dd[data-stat]")}
        columns.append({
            "model": col.get_attribute("data-model"),
            "header": col.find_element(By.CSS_SELECTOR, ".col-model").text,
            "state": col.get_attribute("data-state"),
            "text": col.find_element(By.CSS_SELECTOR, ".col-text").text,
            "error": col.find_element(By.CSS_SELECTOR, ".col-error").text,
            "stats": stats,
        })
    if screenshot is not None:
        save_screenshot(driver, screenshot)
    return columns


def save_screenshot(driver, path: Path) -> None:
    """A PNG of the whole page (as tall as its content), made smaller with Pillow when available."""
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    width = driver.execute_script("return window.innerWidth")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    try:
        from PIL import Image
    except ImportError:
        log(f"screenshot {path} ({path.stat().st_size // 1024} KB; install Pillow to shrink it)")
        return
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    log(f"screenshot {path} ({path.stat().st_size // 1024} KB, {small.width}x{small.height})")


def check_columns(columns: list[dict], model_ids: list[str]) -> list[str]:
    problems = []
    if [c["model"] for c in columns] != model_ids:
        problems.append(f"columns {[c['model'] for c in columns]} != chosen {model_ids}")
    for c in columns:
        name = c["model"]
        if c["header"] != name:
            problems.append(f"{name}: header shows {c['header']!r}")
        if c["state"] != "done":
            problems.append(f"{name}: state {c['state']!r}, error {c['error']!r}")
        if not c["text"].strip():
            problems.append(f"{name}: empty answer")
        s = c["stats"]
        for key in ("prompt_tokens", "completion_tokens"):
            if not re.fullmatch(r"[1-9]\d*", s.get(key, "")):
                problems.append(f"{name}: {key} is {s.get(key)!r}, expected a positive count from the usage chunk")
        for key in ("ttft", "total"):
            if not re.fullmatch(r"\d+(\.\d+)? s", s.get(key, "")):
                problems.append(f"{name}: {key} is {s.get(key)!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default=os.environ.get("TANDEM_URL"),
                   help="a running server (default: TANDEM_URL, else start one)")
    p.add_argument("--via-proxy", action="store_true",
                   help="serve the page from ComparePage.swift through a local proxy instead of the server's `/`")
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="2 to 4 model ids")
    p.add_argument("--message", default=DEFAULT_MESSAGE)
    p.add_argument("--max-tokens", type=int, default=24)
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for the columns")
    p.add_argument("--screenshot", default=str(REPO / "docs" / "compare-page.png"),
                   help="PNG path ('' for none)")
    p.add_argument("--size", default="1280x760", help="browser window WIDTHxHEIGHT")
    args = p.parse_args(argv)
    if not 2 <= len(args.models) <= 4:
        p.error("--models takes 2 to 4 ids")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("selenium is missing: python3 -m pip install -r e2e/browser/requirements.txt", file=sys.stderr)
        return 2

    server = proxy = driver = None
    profile = tempfile.mkdtemp(prefix="tandem-compare-chromium-")
    try:
        if args.url:
            base = args.url.rstrip("/")
            log(f"using the server at {base}")
        else:
            if not TANDEM_BIN.is_file() or not MODEL_PATH.is_file():
                print(f"need {TANDEM_BIN} (swift build -c release) and {MODEL_PATH} (make setup), "
                      f"or TANDEM_URL pointing at a running server", file=sys.stderr)
                return 2
            log_dir = Path(tempfile.mkdtemp(prefix="tandem-compare-logs-"))
            server = TandemServer("compare-page", TANDEM_BIN, MODEL_PATH, REPO / "adapters", log_dir).start()
            base = server.url
            log(f"started {server.describe()}")

        if args.via_proxy:
            proxy = PageProxy(base, page_html_from_swift()).start()
            page_url = proxy.url + "/"
            log(f"--via-proxy: page from {SWIFT_PAGE.relative_to(REPO)} at {page_url}, /v1/* forwarded to {base}")
        else:
            page_url = base + "/"
            status, headers, _ = http_request("GET", page_url, timeout=30)
            if status != 200 or "text/html" not in headers.get("content-type", ""):
                print(f"GET {page_url} answered {status} {headers.get('content-type')!r}, not the HTML page: "
                      f"is the binary older than the `/` route? Rebuild it, or run with --via-proxy to "
                      f"test the page from the Swift source.", file=sys.stderr)
                return 1

        width, height = (int(v) for v in args.size.lower().split("x"))
        driver = make_driver(width, height, profile)
        shot = Path(args.screenshot) if args.screenshot else None
        try:
            columns = run_page(driver, page_url, args.models, args.message, args.max_tokens, args.timeout, shot)
        except Exception:
            print("browser console:\n" + browser_console(driver), file=sys.stderr)
            if server is not None:
                print("--- server log tail ---\n" + server.log_tail(30), file=sys.stderr)
            raise
        for c in columns:
            s = c["stats"]
            log(f"{c['model']}: {c['state']}, prompt {s.get('prompt_tokens')} / completion "
                f"{s.get('completion_tokens')} tokens, TTFT {s.get('ttft')}, total {s.get('total')}, "
                f"{s.get('tps')} tok/s, finish {s.get('finish_reason')}: {json.dumps(c['text'])}")
        problems = check_columns(columns, args.models)
        if problems:
            print("FAIL\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        log(f"PASS in {time.monotonic() - started:.1f} s")
        return 0
    finally:
        if driver is not None:
            driver.quit()
        if proxy is not None:
            proxy.stop()
        if server is not None:
            code = server.terminate()
            if code not in (0, None):
                log(f"server exited with code {code}")
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
