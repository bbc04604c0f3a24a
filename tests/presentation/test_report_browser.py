"""The HTML report in headless Chromium: every figure loads and shows at a non-zero size."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lrstats.inference import analyse
from lrstats.presentation.report import write_report
from lrstats.simulate import simulate_frame

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.is_file() or not CHROMEDRIVER.is_file(),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, chromedriver); "
        ".ci/run installs them",
    ),
]


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1600",
    ):
        options.add_argument(argument)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_every_figure_loads_and_is_visible(browser, tmp_path):
    frame = simulate_frame(np.logspace(-4, -1, 21), 40, optimum_lr=0.01, diverge_above=0.05, rng=3)
    frame.attrs["seed"] = 3
    index = write_report(analyse(frame, rng=0, n_resamples=200), tmp_path / "report")
    browser.get(index.resolve().as_uri())
    assert browser.title == "lrstats report"
    images = browser.execute_script(
        """
        return Array.from(document.images).map(function (img) {
            img.scrollIntoView();
            var box = img.getBoundingClientRect();
            return {alt: img.alt, complete: img.complete, naturalWidth: img.naturalWidth,
                    naturalHeight: img.naturalHeight, width: box.width, height: box.height,
                    external: !img.src.startsWith("data:")};
        });
        """
    )
    assert len(images) == 7
    for image in images:
        assert image["complete"], image
        assert image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image
        assert image["width"] > 100 and image["height"] > 100, image
        assert not image["external"], image
    tables = browser.execute_script(
        "return Array.from(document.querySelectorAll('table')).map(t => t.rows.length);"
    )
    assert tables[0] == 21 + 1  # the per-lr summary: header and one row per lr
    assert len(tables) == 5
    provenance = browser.execute_script(
        "return Array.from(document.querySelectorAll('dl.provenance dt')).map(d => d.textContent);"
    )
    assert "seed" in provenance and "truth.optimum_lr" in provenance
    browser.execute_script("window.scrollTo(0, 0);")
    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG")
