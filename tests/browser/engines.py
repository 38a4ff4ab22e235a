"""Headless Chromium and Firefox ESR (Debian's packages), both driven through WebDriver by Selenium.

One driver library for both engines: chromedriver (Debian's chromium-driver) drives Chromium,
geckodriver (crates.io, pinned in scripts/setup) drives Firefox; pages, scripts, cookies, windows
and viewport screenshots go through the same W3C WebDriver commands. A full-page screenshot uses
each driver's own command (geckodriver's, chromedriver's DevTools passthrough). The console is
read per engine: classic WebDriver has no command for it, and WebDriver BiDi's log.entryAdded
carries CORS errors in Firefox but not in chromedriver:

  * Chromium: chromedriver's browser log (`goog:loggingPrefs`), which holds what DevTools shows,
    CORS and WebSocket errors included. That log follows the page's own renderer process, so
    Chromium runs with site isolation off (--disable-site-isolation-trials): the cross-site
    iframe of the demo then shares it, and its messages are logged too. CORS and WebSocket
    checks happen in Chromium's network service either way.
  * Firefox: WebDriver BiDi's log.entryAdded, which carries every message of the web console,
    CORS errors included, each with the browsing context (frame) that logged it.

Every process started here is stopped by PID: each driver runs in its own process group (the
browser it starts joins it), and close() kills that group after quitting the session, also when
the session is already gone.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

ENGINES = ("chromium", "firefox")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
# scripts/setup installs geckodriver with `cargo install` (into ~/.cargo/bin), at the version it pins.
GECKODRIVER = (os.environ.get("GECKODRIVER") or shutil.which("geckodriver")
               or str(Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin" / "geckodriver"))
_SETUP = Path(__file__).resolve().parents[2] / "scripts" / "setup"
GECKODRIVER_VERSION = next(iter(re.findall(r"^GECKODRIVER_VERSION=(\S+)$", _SETUP.read_text(), re.M)), "?")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # See the module docstring: the iframe's console messages reach chromedriver's log.
    "--disable-site-isolation-trials",
]

# Firefox: no connection outside the machine (they would be refused here anyway, and they make
# runs slower and noisier): no updates, telemetry, studies, remote settings, captive portal or
# connectivity checks, safe browsing lists, add-on or plug-in (OpenH264) downloads, DNS over
# HTTPS, prefetching, region or geolocation look-ups; no proxy. Checked through a recording
# proxy: with these prefs (and MOZ_REMOTE_SETTINGS_DEVTOOLS, see launch()) a demo run makes no
# outside connection; without that variable Remote Settings retried its server about 4 times a
# second.
FIREFOX_PREFS: dict[str, Any] = {
    "app.update.auto": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "browser.discovery.enabled": False,
    "browser.newtabpage.enabled": False,
    "browser.newtabpage.activity-stream.feeds.system.topstories": False,
    "browser.newtabpage.activity-stream.feeds.telemetry": False,
    "browser.newtabpage.activity-stream.telemetry": False,
    "browser.ping-centre.telemetry": False,
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "browser.safebrowsing.blockedURIs.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.downloads.remote.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.provider.google.updateURL": "",
    "browser.safebrowsing.provider.google4.updateURL": "",
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.search.geoip.url": "",
    "browser.search.update": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage": "about:blank",
    "browser.startup.page": 0,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "extensions.update.enabled": False,
    "geo.provider.network.url": "",
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.http.speculative-parallel-limit": 0,
    "network.prefetch-next": False,
    "network.proxy.type": 0,
    "network.trr.mode": 5,
    "services.settings.server": "data:,#remote-settings-off",
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.server": "",
    "toolkit.telemetry.unified": False,
}

START_TIMEOUT = 60.0  # seconds for the driver and the browser to start a session
SCRIPT_TIMEOUT = 30.0  # seconds for one execute_script (async functions included)


class EngineError(Exception):
    """The browser could not be started or driven; the message says why."""


class MissingTool(EngineError):
    """Something the browser tests need is not installed; the message says what to install."""


def requirements(engine: str) -> None:
    """Raises MissingTool naming what to install when the engine cannot be started."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise MissingTool("Python package selenium is missing: run scripts/setup "
                          "(or .venv/bin/pip install -r tests/requirements.txt)") from None
    if engine == "chromium":
        need = [(CHROMIUM, "CHROMIUM", "apt-get install chromium"),
                (CHROMEDRIVER, "CHROMEDRIVER", "apt-get install chromium-driver")]
    elif engine == "firefox":
        need = [(FIREFOX, "FIREFOX", "apt-get install firefox-esr"),
                (GECKODRIVER, "GECKODRIVER", f"cargo install geckodriver --version {GECKODRIVER_VERSION} --locked")]
    else:
        raise ValueError(f"unknown engine {engine!r}; one of {ENGINES}")
    for path, env, install in need:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise MissingTool(f"{Path(path).name} not found at {path}: run scripts/setup (it runs `{install}`), "
                              f"or set {env}=/path/to/it")


@dataclass
class LogEntry:
    """One message of the browser's console."""

    level: str  # error, warning, info, debug
    text: str
    url: str  # the document (frame) that logged it, when the engine says; "" otherwise
    script_error: bool  # an uncaught JavaScript exception

    def __str__(self) -> str:
        return f"{self.level}: {self.text}"


# How each engine words a CORS refusal in its console: the fetched URL and the reason.
_REFUSAL = {
    "chromium": re.compile(r"Access to fetch at '(?P<url>[^']+)' from origin '[^']+' has been blocked by CORS policy: (?P<reason>.*)$"),
    "firefox": re.compile(r"^Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "
                          r"‘?(?P<url>.+?)’?\. \(Reason: (?P<reason>.*)\)\.(?: Status code: (?P<status>.+)\.)?$"),
}


def refusal(engine: str, entry: LogEntry) -> tuple[str, str] | None:
    """(fetched URL, reason) when the console entry reports a CORS refusal, else None. Firefox
    adds the response's status (Status code: 403) to the reason."""
    m = _REFUSAL[engine].search(entry.text)
    if not m:
        return None
    reason = m.group("reason")
    if engine == "firefox" and m.group("status"):
        reason += f" [status {m.group('status')}]"
    return m.group("url"), reason


class Browser:
    """A headless browser session: one engine, one window (more with new_window())."""

    def __init__(self, engine: str, driver: Any, service: Any, tmp: Path, log_path: Path):
        self.engine = engine
        self.driver = driver
        self.service = service
        self.tmp = tmp
        self.log_path = log_path
        self.version = str(driver.capabilities.get("browserVersion", "?"))
        if engine == "chromium":
            self.driver_version = str(driver.capabilities.get("chrome", {}).get("chromedriverVersion", "?")).split(" ")[0]
        else:
            self.driver_version = str(driver.capabilities.get("moz:geckodriverVersion", "?"))
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []
        self._pending: list[tuple[str, str, str | None, bool]] = []  # Firefox: (level, text, context, error)
        if engine == "firefox":
            driver.script.add_console_message_handler(self._on_bidi_entry)
            driver.script.add_javascript_error_handler(self._on_bidi_entry)

    def __repr__(self) -> str:
        return f"<{self.engine} {self.version}>"

    @property
    def name(self) -> str:
        return "Chromium" if self.engine == "chromium" else "Firefox ESR"

    # -- pages and scripts --

    def open(self, url: str) -> None:
        self.driver.get(url)

    def evaluate(self, function: str, *args: Any) -> Any:
        """Calls a JavaScript function (source text, may be async) with args; returns its result,
        awaited when it is a promise."""
        return self.driver.execute_script(f"return ({function}).apply(null, arguments);", *args)

    def wait_for(self, expression: str, timeout: float) -> None:
        """Waits until the JavaScript expression is truthy; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            if self.driver.execute_script(f"return !!({expression});"):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: `{expression}` still false after {timeout:.0f} s "
                                     f"(page {self.driver.current_url})")
            time.sleep(0.1)

    def set_viewport(self, width: int, height: int) -> None:
        """Sizes the window so that the page's viewport is width x height CSS pixels."""
        self.driver.set_window_size(width, height)
        inner_w, inner_h = self.driver.execute_script("return [window.innerWidth, window.innerHeight];")
        if (inner_w, inner_h) != (width, height):
            self.driver.set_window_size(2 * width - inner_w, 2 * height - inner_h)

    def text(self, css: str) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def count(self, css: str) -> int:
        from selenium.webdriver.common.by import By

        return len(self.driver.find_elements(By.CSS_SELECTOR, css))

    def visible(self, css: str) -> bool:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css).is_displayed()

    def cookies(self) -> dict[str, dict]:
        """The cookies the browser keeps for the current page's host (any port), by name."""
        return {c["name"]: c for c in self.driver.get_cookies()}

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        """A PNG of the viewport, or of the whole page with full_page."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not full_page:
            self.driver.save_screenshot(str(path))
        elif self.engine == "firefox":
            self.driver.get_full_page_screenshot_as_file(str(path))
        else:
            import base64

            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            path.write_bytes(base64.b64decode(shot["data"]))

    @contextmanager
    def new_window(self) -> Iterator[None]:
        """A new tab for the block, closed after it; the previous one is current again."""
        first = self.driver.current_window_handle
        self.driver.switch_to.new_window("tab")
        try:
            yield
        finally:
            try:
                self.driver.close()
            finally:
                self.driver.switch_to.window(first)

    # -- console --

    def _on_bidi_entry(self, entry: Any) -> None:
        source = entry.source or {}
        stack = getattr(entry, "stacktrace", None) or getattr(entry, "stack_trace", None) or {}
        # An uncaught exception comes with its stack; a network or CORS error has none.
        error = entry.type_ == "javascript" and bool(stack.get("callFrames"))
        level = {"warn": "warning"}.get(entry.level or "", entry.level or "info")
        with self._lock:
            self._pending.append((level, entry.text or "", source.get("context"), error))

    def console(self) -> list[LogEntry]:
        """Every console message so far, in order (all frames)."""
        if self.engine == "chromium":
            levels = {"SEVERE": "error", "WARNING": "warning", "INFO": "info", "DEBUG": "debug"}
            for e in self.driver.get_log("browser"):
                text = e["message"]
                url = text.split(" ", 1)[0] if "://" in text.split(" ", 1)[0] else ""
                self._entries.append(LogEntry(levels.get(e["level"], e["level"].lower()), text, url,
                                              e.get("source") == "javascript" and "Uncaught" in text))
        else:
            with self._lock:
                pending, self._pending = self._pending, []
            urls = self._context_urls() if pending else {}
            for level, text, context, error in pending:
                self._entries.append(LogEntry(level, text, urls.get(context or "", ""), error))
        return list(self._entries)

    def _context_urls(self) -> dict[str, str]:
        out: dict[str, str] = {}

        def walk(infos: list[Any] | None) -> None:
            for i in infos or []:
                out[i.context] = i.url or ""
                walk(i.children)

        walk(self.driver.browsing_context.get_tree())
        return out

    def script_errors(self) -> list[LogEntry]:
        return [e for e in self.console() if e.script_error]

    def refusals(self, page_origin: str) -> list[tuple[str, str]]:
        """(fetched URL, reason) of every CORS refusal reported to pages at page_origin, in order."""
        out = []
        for e in self.console():
            r = refusal(self.engine, e)
            if r and e.url.startswith(page_origin + "/"):
                out.append(r)
        return out

    # -- end --

    def close(self) -> None:
        """Quits the session, then kills the driver's process group (the browser included) by
        PID. Safe to call twice."""
        if self not in _LIVE:
            return
        _LIVE.remove(self)
        from selenium.webdriver.remote.command import Command

        # The session first: that closes Firefox's BiDi socket from the browser's side. quit()
        # alone closes it from ours first, which sometimes waits 10 s for the reading thread.
        for end in (lambda: self.driver.execute(Command.QUIT), self.driver.quit):
            try:
                end()
            except Exception:  # noqa: BLE001  (the session or the driver may already be gone)
                pass
        proc = getattr(self.service, "process", None)
        if proc is not None:
            _kill_group(proc)
        shutil.rmtree(self.tmp, ignore_errors=True)


# Every browser launched by this process: closed at interpreter exit whatever happens to the fixtures.
_LIVE: list[Browser] = []


@atexit.register
def _close_all() -> None:
    for b in list(_LIVE):  # close() removes b from _LIVE
        b.close()


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL, to the process group led by proc, until no live process is left in
    it (at most 5 s each). Exited browser processes wait as zombies until init reaps them: they
    are not waited for."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 5
        while _live_in_group(proc.pid) and time.monotonic() < deadline:
            proc.poll()  # reaps the driver itself once it exits
            time.sleep(0.05)
        if not _live_in_group(proc.pid):
            break
    proc.poll()


def _live_in_group(pgid: int) -> bool:
    """Whether a process of group pgid is alive (not a zombie), from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def launch(engine: str, log_dir: Path) -> Browser:
    """Starts the engine headless with a fresh profile; the caller must close() it."""
    requirements(engine)
    log_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"cors-{engine}-"))
    log_path = log_dir / ("chromedriver.log" if engine == "chromium" else "geckodriver.log")
    popen = {"start_new_session": True}
    service = None
    try:
        if engine == "chromium":
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service

            options = webdriver.ChromeOptions()
            options.binary_location = CHROMIUM
            for arg in CHROMIUM_ARGS + [f"--user-data-dir={tmp / 'profile'}"]:
                options.add_argument(arg)
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
            service = Service(CHROMEDRIVER, log_output=str(log_path), popen_kw=popen)
            driver = _start(lambda: webdriver.Chrome(options=options, service=service), engine, service, log_path)
        else:
            from selenium import webdriver
            from selenium.webdriver.firefox.service import Service

            options = webdriver.FirefoxOptions()
            options.binary_location = FIREFOX
            options.add_argument("-headless")
            options.enable_bidi = True
            for k, v in FIREFOX_PREFS.items():
                options.set_preference(k, v)
            # geckodriver makes a fresh profile in TMPDIR; this one is removed by close(). A release
            # build honours services.settings.server only with MOZ_REMOTE_SETTINGS_DEVTOOLS set.
            env = dict(os.environ, TMPDIR=str(tmp), MOZ_HEADLESS="1", MOZ_REMOTE_SETTINGS_DEVTOOLS="1")
            service = Service(GECKODRIVER, log_output=str(log_path), env=env, popen_kw=popen)
            driver = _start(lambda: webdriver.Firefox(options=options, service=service), engine, service, log_path)
        driver.set_script_timeout(SCRIPT_TIMEOUT)
        driver.set_page_load_timeout(START_TIMEOUT)
        browser = Browser(engine, driver, service, tmp, log_path)
        _LIVE.append(browser)
        return browser
    except BaseException:
        if service is not None and getattr(service, "process", None) is not None:
            _kill_group(service.process)
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _start(make: Callable[[], Any], engine: str, service: Any, log_path: Path) -> Any:
    """Runs make() (which starts the driver and a session) with a deadline; on failure the
    error says where the driver's log is."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["driver"] = make()
        except BaseException as e:  # noqa: BLE001
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(START_TIMEOUT)
    if "driver" in result:
        return result["driver"]
    if getattr(service, "process", None) is not None:
        _kill_group(service.process)
    reason = result.get("error", f"no session after {START_TIMEOUT:.0f} s")
    raise EngineError(f"cannot start {engine} through WebDriver: {reason}\n(driver log: {log_path})")
