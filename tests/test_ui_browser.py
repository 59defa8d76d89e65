"""The chat page in a real headless Chromium: ask, watch the answer stream in, follow a [n] link, and XSS."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.corpus import read_paths
from assistant.index import ingest
from assistant.llms.base import Readiness
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import BackendSpec, Registry
from assistant.retrieval import Retriever
from assistant.serve_cli import launch
from assistant.store import PaperStore
from assistant.ui import build_app
from tests.conftest import make_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver missing: run `make browser`"),
]
WAIT = 60  # seconds any one thing may take to appear


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def serve(store: Path, embedder, fake: FakeBackend):
    registry = Registry()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    settings = make_settings(store, llm={"backend": "fake"}, ui={"port": 0})
    retriever = Retriever(settings, PaperStore(settings), embedder)
    return launch(build_app(retriever, settings, registry), settings, block=False)


def wait_for(driver, predicate, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = predicate(driver)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def ask(driver, url: str, question: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(url)
    box = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-question textarea"), "the question box")[0]
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def test_ask_stream_sources_and_follow_a_marker(browser, built_store, embedder, tmp_path):
    from selenium.webdriver.common.by import By

    fake = FakeBackend(delay=0.05)  # slow enough that the page shows the answer streaming
    fake.enqueue("LeTI fine-tunes the model on textual feedback from a Python interpreter, using error messages "
                 "and stack traces as the feedback for generated programs [1].")
    demo = serve(built_store, embedder, fake)
    try:
        ask(browser, demo.local_url, "How does LeTI use error messages from the Python interpreter?")
        streaming = wait_for(browser, lambda d: "▌" in d.find_element(By.ID, "pa-chat").text, "streamed text")
        assert streaming
        link = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href$='#src-1']"),
                        "the [1] marker link")[0]
        assert link.text == "[1]"
        sources = browser.find_elements(By.CSS_SELECTOR, "#pa-sources li.pa-source a[href^='https://arxiv.org/']")
        assert sources and "LeTI" in sources[0].text
        assert "cited" in browser.find_element(By.ID, "src-1").text
        browser.save_screenshot(str(tmp_path / "answer.png"))
        browser.execute_script("arguments[0].removeAttribute('target')", link)  # follow it in this tab
        link.click()
        wait_for(browser, lambda d: d.execute_script("return location.hash") == "#src-1", "the #src-1 anchor")
        assert (tmp_path / "answer.png").stat().st_size > 10_000
    finally:
        demo.close()


def test_html_in_titles_and_abstracts_is_shown_as_text(browser, embedder, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    papers = tmp_path / "evil.jsonl"
    papers.write_text(json.dumps({
        "title": "Zebrafish <script>alert(1)</script> Tokenizers",
        "abstract": "We study zebrafish tokenizers <img src=x onerror=\"alert(2)\"> and show they tokenize "
                    "zebrafish genomes well. " * 3,
    }) + "\n")
    store = tmp_path / "index"
    ingest(read_paths([papers]).papers, make_settings(store), embedder, progress=False)
    fake = FakeBackend()
    fake.enqueue("Zebrafish tokenizers <img src=x onerror=\"alert(3)\"> tokenize zebrafish genomes well [1].")
    demo = serve(store, embedder, fake)
    try:
        ask(browser, demo.local_url, "What do zebrafish tokenizers do?")
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href$='#src-1']"), "the answer")
        panel = browser.find_element(By.ID, "pa-sources")
        assert "<script>alert(1)</script>" in panel.text  # shown as text
        assert not browser.find_elements(By.CSS_SELECTOR, "#pa-sources script, #pa-sources img, #pa-chat img")
        time.sleep(1)
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - raises when no alert fired
        browser.save_screenshot(str(tmp_path / "xss.png"))
    finally:
        demo.close()
