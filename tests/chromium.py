"""Headless Chromium driven by selenium, as the browser test and bench/report_scale.py open pages.
Debian's chromium and chromium-driver; the flags keep it off the (closed) network."""

from __future__ import annotations

from pathlib import Path

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1300,1400",
]


def installed() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def headless_chromium(profile: Path):
    """A selenium driver of a fresh Chromium whose profile lives in `profile`; quit() it when done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
