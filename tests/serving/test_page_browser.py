"""The page in headless Chromium (Debian's `chromium`, driven by Playwright with
`executable_path`; never `playwright install`): it shows the live model and its form
sends a prediction. Skipped where no chromium is installed."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from tests.serving.helpers import MODEL, Running

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None or importlib.util.find_spec("playwright") is None,
                                reason="needs Debian's chromium (apt-get install chromium) and the playwright package")


def test_the_page_shows_the_model_and_its_form_gets_a_prediction(server_on_v1: Running) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"]
        )  # root in CI has no sandbox
        try:
            page = browser.new_page()
            page.goto(f"{server_on_v1.url}/")
            expect(page.locator(f'tr[data-model="{MODEL}"] td.Ready')).to_have_text("Ready")
            form = page.locator(f'form[data-model="{MODEL}"]')
            form.locator("button").click()
            expect(form.locator("pre")).to_contain_text('"version": 1', timeout=10_000)
            assert form.locator("pre").text_content().startswith("200 ")
        finally:
            browser.close()
