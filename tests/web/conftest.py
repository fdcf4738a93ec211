"""Browser tests: Debian's chromium driven by Playwright against a real `autolabel serve`.

`make test` installs /usr/bin/chromium when it is missing and builds the app (`make web`);
Playwright's own browser download cannot work here, so the executable path is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from autolabel.web import STATIC_DIR
from tests.api.conftest import Served, autolabel_serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "images"


def cli(home: Path, *args: str) -> str:
    env = {**os.environ, "AUTOLABEL_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "autolabel.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"autolabel {' '.join(args)}: {done.stdout} {done.stderr}"
    return done.stdout


def add_user(home: Path, name: str, role: str) -> str:
    token: str = json.loads(cli(home, "user", "add", name, "--role", role, "--json"))["token"]
    return token


@dataclass
class Site:
    served: Served
    home: Path
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://{self.served.host}:{self.served.port}/"

    def api(self, method: str, path: str, user: str, body: object = None) -> object:
        reply = self.served.request(method, path, body, token=self.tokens[user])
        assert reply.status < 300, reply
        return reply.body


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail(f"the web app is not built in {STATIC_DIR}: run `make web`")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One fresh profile per test module (a persistent context is how a user-data-dir is given)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_FLAGS,
        viewport=VIEWPORT,
    )
    context.set_default_timeout(20_000)
    yield context
    context.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`autolabel serve` on a fresh workspace: an admin, two reviewers and the sample photos."""
    home = tmp_path_factory.mktemp("autolabel-home")
    tokens = {
        "root": add_user(home, "root", "admin"),
        "alice": add_user(home, "alice", "reviewer"),
        "bob": add_user(home, "bob", "reviewer"),
        "carol": add_user(home, "carol", "reviewer"),
    }
    cli(home, "dataset", "add", "samples", str(SAMPLES))
    with autolabel_serve(home) as served:
        yield Site(served, home, tokens)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def sign_in(page: Page, site: Site, user: str) -> None:
    page.goto(site.url)
    page.get_by_label("Access token").fill(site.tokens[user])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("who").wait_for()


# Every control a person can operate, as the keyboard sees it: a radio group is one Tab stop.
_MARK_CONTROLS = """() => {
  const controls = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex="0"]')]
    .filter((el) => !el.disabled && el.getClientRects().length > 0 && !el.closest('dialog:not([open])'))
    .filter((el) => el.type !== 'radio' || el.checked ||
      !document.querySelector(`input[type=radio][name="${el.name}"]:checked`));
  const seenRadio = new Set();
  let n = 0;
  for (const el of controls) {
    if (el.type === 'radio') { if (seenRadio.has(el.name)) continue; seenRadio.add(el.name); }
    el.dataset.tabStop = String(n++);
  }
  document.activeElement?.blur();
  return n;
}"""


def assert_keyboard_reaches_every_control(page: Page) -> None:
    """Tab from the top of the page reaches every enabled, visible control."""
    total = page.evaluate(_MARK_CONTROLS)
    assert total > 0
    seen: set[str] = set()
    for _ in range(total * 2 + 10):
        page.keyboard.press("Tab")
        stop = page.evaluate("() => document.activeElement?.dataset?.tabStop ?? null")
        if stop is not None:
            seen.add(stop)
        if len(seen) == total:
            break
    missing = page.evaluate(
        "(seen) => [...document.querySelectorAll('[data-tab-stop]')]"
        ".filter((el) => !seen.includes(el.dataset.tabStop)).map((el) => el.outerHTML.slice(0, 120))",
        sorted(seen),
    )
    assert not missing, f"Tab never reaches: {missing}"
    page.evaluate("() => document.activeElement?.blur()")


def assert_fits_1280x800(page: Page) -> None:
    """No sideways scrolling at 1280×800."""
    assert page.viewport_size == VIEWPORT
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the page is {width}px wide"


__all__ = ["Site", "add_user", "cli", "screenshot", "sign_in"]
