"""The chat page in a real headless Chromium: ask, watch the answer stream in, follow a [n] link, a comparison
table and a follow-up; and corpus/model text holding <script> and <img onerror> shown as text (no alert, no element).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.app import build
from assistant.ingest.corpus import read_paths
from assistant.ingest.index import ingest
from assistant.llms.base import BackendSpec, Readiness
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import Registry
from assistant.ui.page import build_app
from assistant.ui.serve import launch
from tests.support import make_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which("chromedriver"), reason="chromium-driver missing: run `make browser`"),
]
WAIT = 60  # seconds any one thing may take to appear
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000")


@pytest.fixture(scope="module")
def _driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One Chromium for the module (starting one takes seconds); each test gets it back with a clean slate."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium') / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(_driver) -> Iterator:
    """The module's Chromium on a blank page with one window; every test serves the app on a new port (a new
    origin: no storage, cookies or history carry over), and the browser is reset after it too."""
    _driver.get("about:blank")
    yield _driver
    with contextlib.suppress(Exception):  # an alert left open by a failed test would block what follows
        _driver.switch_to.alert.dismiss()
    for handle in _driver.window_handles[1:]:
        _driver.switch_to.window(handle)
        _driver.close()
    _driver.switch_to.window(_driver.window_handles[0])
    _driver.delete_all_cookies()
    _driver.get("about:blank")


def serve(store: Path, embedder, fake: FakeBackend):
    registry = Registry()
    registry.register(BackendSpec("fake", "scripted", lambda s: fake, lambda s: Readiness(True, "ok")))
    settings = make_settings(store, llm={"backend": "fake"}, ui={"port": 0})
    app = build(settings, registry=registry, embedder=embedder)
    app.warm()  # as `serve` does before the page takes questions
    return launch(build_app(app), settings, block=False)


def wait_for(driver, predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate(driver)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; the chat shows: {chat_text(driver)[-600:]!r}")


def ask(driver, question: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-question textarea"), "the question box")[0]
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def answers(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#pa-chat .message.bot, #pa-chat [data-testid='bot']")


def test_ask_stream_sources_follow_a_marker_then_compare(browser, built_store, embedder, tmp_path):
    from selenium.webdriver.common.by import By

    fake = FakeBackend(delay=0.05)  # slow enough that the page shows the answer streaming
    fake.enqueue("LeTI fine-tunes the model on textual feedback from a Python interpreter, using error messages "
                 "and stack traces as the feedback for generated programs [1].")
    demo = serve(built_store, embedder, fake)
    try:
        browser.get(demo.local_url)
        ask(browser, "How does LeTI use error messages from the Python interpreter?")
        wait_for(browser, lambda d: "▌" in d.find_element(By.ID, "pa-chat").text, "streamed text")
        wait_for(browser, lambda d: "⏳" not in last_bubble(d), "the checked answer")  # the preview links [n] too
        link = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-1']"),
                        "the [1] marker link")[0]
        assert link.text == "[1]" and "▌" not in browser.find_element(By.ID, "pa-chat").text
        titles = browser.find_elements(By.CSS_SELECTOR, "#pa-sources li.pa-source a[href^='https://arxiv.org/']")
        assert len(titles) == 5 and "LeTI" in titles[0].text and titles[0].get_attribute("target") == "_blank"
        assert "cited as [1]" in browser.find_element(By.ID, "src-1").text
        browser.save_screenshot(str(tmp_path / "answer.png"))
        link.click()  # an in-page anchor: no new tab, the panel entry is targeted (and highlighted)
        wait_for(browser, lambda d: d.execute_script("return location.hash") == "#src-1", "the #src-1 anchor")
        assert len(browser.window_handles) == 1
        assert browser.execute_script("return document.querySelector('#src-1').matches(':target')")

        fake.enqueue("Compare LeTI and DePT.")  # a follow-up: the model first rewrites it as a standalone question
        fake.enqueue("| Aspect | LeTI [1] | DePT [2] |\n|---|---|---|\n"
                     "| Method | learns from interpreter feedback [1] | decomposes the soft prompt [2] |\n\n"
                     "LeTI learns from textual feedback [1], while DePT decomposes the soft prompt [2].")
        before = bubble_count(browser)
        ask(browser, "Compare LeTI and DePT.")
        # The preview links [2] too: the table is there once the checked answer has replaced it.
        wait_for(browser, lambda d: bubble_count(d) > before and "⏳" not in last_bubble(d), "the checked comparison")
        settled(browser)
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-2']"), "[2] link")
        table = browser.find_element(By.CSS_SELECTOR, "#pa-chat table")
        assert "Aspect" in table.text and "decomposes the soft prompt" in table.text
        assert table.find_elements(By.CSS_SELECTOR, "a[href='#src-2']")  # markers are links inside the table too
        # The first answer's [1] now opens its paper: the panel shows the comparison's sources.
        first = browser.find_elements(By.CSS_SELECTOR, "#pa-chat a[href^='https://arxiv.org/']")
        assert first and first[0].text == "[1]"
        assert "DePT" in browser.find_element(By.ID, "src-2").text
        browser.save_screenshot(str(tmp_path / "comparison.png"))
        assert (tmp_path / "answer.png").stat().st_size > 10_000
    finally:
        demo.close()


def chat_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "pa-chat").text


BOTS = "#pa-chat .message.bot, #pa-chat [data-testid='bot']"


def last_bubble(driver) -> str:
    """The last answer bubble's text, read in one script call (the bubble is re-rendered every second)."""
    return driver.execute_script(f"const b = document.querySelectorAll({BOTS!r}); "
                                 "return b.length ? b[b.length - 1].innerText : ''")


def bubble_count(driver) -> int:
    return driver.execute_script(f"return document.querySelectorAll({BOTS!r}).length")


def settled(driver, quiet: float = 1.5) -> None:
    """Wait until the chat's HTML has not changed for `quiet` seconds: the turn's last render is done, so an
    element found now is not replaced under the test (on a loaded host the final render can come late)."""
    def html() -> str:
        return driver.execute_script("const c = document.getElementById('pa-chat'); return c ? c.innerHTML : ''")

    last, since = html(), time.monotonic()
    deadline = since + WAIT
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = html()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError(f"the chat kept changing for {WAIT} s")


def click_stop(driver) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "pa-stop").click()


def status_preview_stop_then_ask_again(browser, url: str, stop_after_first_token: float,
                                       model_wait: float = WAIT) -> dict[str, float]:
    """The flow of issue 17 on a served page: ask; the status line and the preview appear; the checked answer
    replaces them; a second question stopped once the model writes; a third one answered. Returns the times."""
    from selenium.webdriver.common.by import By

    browser.get(url)
    wait_for(browser, lambda d: "ready" in d.execute_script(
        "return document.getElementById('pa-model')?.innerText || ''"), "the model line saying ready", model_wait)
    ask(browser, "How does LeTI use error messages from the Python interpreter?")
    sent = time.monotonic()
    wait_for(browser, lambda d: "⏳" in last_bubble(d), "the status line")
    t_status = time.monotonic() - sent
    wait_for(browser, lambda d: "Preview:" in last_bubble(d), "the preview")
    t_preview = time.monotonic() - sent
    bubble = last_bubble(browser)
    assert "[1]" in bubble or "[2]" in bubble  # the preview's sentences are cited
    wait_for(browser, lambda d: "Writing the answer" in last_bubble(d) or "⏳" not in last_bubble(d),
             "the model's first token", model_wait)
    t_first = time.monotonic() - sent
    wait_for(browser, lambda d: "⏳" not in last_bubble(d) and last_bubble(d), "the checked answer", model_wait)
    t_answer = time.monotonic() - sent
    final = last_bubble(browser)
    assert "Preview:" not in final and "Draft" not in final  # replaced by the checked answer
    assert browser.find_elements(By.CSS_SELECTOR, "#pa-sources li.pa-source")

    before = bubble_count(browser)
    ask(browser, "What does DePT decompose the soft prompt into?")
    wait_for(browser, lambda d: bubble_count(d) > before and "Writing the answer" in last_bubble(d),
             "the second answer being written", model_wait)
    time.sleep(stop_after_first_token)
    click_stop(browser)
    clicked = time.monotonic()
    wait_for(browser, lambda d: "Stopped." in last_bubble(d), "the stopped turn")
    t_stop = time.monotonic() - clicked
    assert "Preview:" in last_bubble(browser)  # the preview is kept, and the sources
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pa-sources li.pa-source")) == 5

    before = bubble_count(browser)
    ask(browser, "How does LeTI use error messages from the Python interpreter?")
    wait_for(browser, lambda d: bubble_count(d) > before and last_bubble(d) and "⏳" not in last_bubble(d),
             "the third answer", model_wait)
    assert "Stopped." not in last_bubble(browser)
    return {"status": t_status, "preview": t_preview, "first_token": t_first, "answer": t_answer, "stop": t_stop}


def test_status_line_and_preview_at_once_then_stop_leaves_the_page_usable(browser, built_store, embedder):
    fake = FakeBackend(delay=0.05, first_delay=1.5)  # a model that reads for 1.5 s, then writes
    leti = "LeTI fine-tunes the model on textual feedback such as error messages from the interpreter [1]."
    fake.enqueue(leti)
    fake.enqueue("What does DePT decompose the soft prompt into?")  # follow-ups are first rewritten by the model
    fake.enqueue(" ".join(["DePT decomposes the soft prompt into a shorter prompt and low-rank matrices [1]."] * 40))
    fake.enqueue("How does LeTI use error messages from the Python interpreter?")
    fake.enqueue(leti)
    demo = serve(built_store, embedder, fake)
    try:
        times = status_preview_stop_then_ask_again(browser, demo.local_url, stop_after_first_token=0.5)
    finally:
        demo.close()
    assert times["status"] < 1.0 and times["preview"] < 1.0 and times["stop"] < 2.0
    assert times["first_token"] > 1.0  # the preview came before the model had read its prompt


@pytest.mark.slow
def test_status_preview_and_stop_with_the_default_model(browser, built_store, embedder, capsys):
    """Issue 17's end-to-end check with the configured default model; prints the times it measured."""
    from assistant.llms.builtin import default_registry

    registry = default_registry()
    settings = make_settings(built_store, ui={"port": 0})
    if not registry.check(settings.llm).ready:
        pytest.skip(f"{settings.llm.backend} is not installed: {registry.check(settings.llm).detail}")
    app = build(settings, registry=registry, embedder=embedder)
    app.warm().join(600)  # as `make run` does, and wait for the model (the page's model line is tested alone)
    assert app.warmup.state().phase == "ready"
    demo = launch(build_app(app), settings, block=False)
    try:  # up to 10 minutes for each answer on two CPU cores
        times = status_preview_stop_then_ask_again(browser, demo.local_url, stop_after_first_token=2.0,
                                                   model_wait=600)
    finally:
        demo.close()
    with capsys.disabled():
        print(f"\nbrowser, {settings.llm.backend}: status {times['status']:.2f} s, preview {times['preview']:.2f} s, "
              f"first model token {times['first_token']:.1f} s, checked answer {times['answer']:.1f} s, "
              f"stopped {times['stop']:.2f} s after the click")
    assert times["status"] < 1.0 and times["preview"] < 1.0 and times["stop"] < 2.0


def test_html_in_titles_abstracts_and_answers_is_shown_as_text(browser, embedder, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    papers = tmp_path / "evil.jsonl"
    papers.write_text(json.dumps({
        "title": "Zebrafish <script>alert(1)</script> Tokenizers",
        "abstract": "We study zebrafish tokenizers <img src=x onerror=alert(1)> and show they tokenize "
                    "zebrafish genomes well. " * 3,
    }) + "\n")
    store = tmp_path / "index"
    ingest(read_paths([papers]).papers, make_settings(store), embedder, progress=False)
    fake = FakeBackend()
    # The payload's numbers are the source's (alert(1)): a number no source states makes the answer unsupported.
    fake.enqueue("Zebrafish tokenizers <img src=x onerror=alert(1)> [x](javascript:alert(1)) tokenize "
                 "zebrafish genomes well [1].")
    demo = serve(store, embedder, fake)
    injected = "#pa-sources script, #pa-sources img, #pa-chat img, #pa-chat script, a[href^='javascript']"
    try:
        browser.get(demo.local_url)
        ask(browser, "What do zebrafish tokenizers do? <img src=x onerror=alert(2)>")
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-1']"), "the answer")
        panel = browser.find_element(By.ID, "pa-sources").text
        assert "<script>alert(1)</script>" in panel and "<img src=x onerror=alert(1)>" in panel  # shown as text
        chat = browser.find_element(By.ID, "pa-chat").text
        assert "<img src=x onerror=alert(1)>" in chat and "[x](javascript:alert(1))" in chat
        assert "<img src=x onerror=alert(2)>" in chat  # the user's own question too
        assert not browser.find_elements(By.CSS_SELECTOR, injected)

        browser.find_element(By.XPATH, "//button[@role='tab' and contains(., 'Papers')]").click()
        box = wait_for(browser, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#pa-browse textarea")
                                           if e.is_displayed()], "the paper search box")[0]
        box.send_keys("zebrafish tokenizers")
        box.send_keys(Keys.ENTER)
        paper = wait_for(browser, lambda d: "genomes" in d.find_element(By.ID, "pa-paper").text
                         and d.find_element(By.ID, "pa-paper"), "the paper's abstract")
        assert "<img src=x onerror=alert(1)>" in paper.text and "<script>alert(1)</script>" in paper.text
        assert not browser.find_elements(By.CSS_SELECTOR, f"{injected}, #pa-paper img, #pa-results script")
        time.sleep(0.5)
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - raises when no alert fired
        browser.save_screenshot(str(tmp_path / "xss.png"))
    finally:
        demo.close()


@pytest.mark.slow
def test_comparison_with_the_default_model(browser, built_store, embedder, tmp_path):
    """The configured default model answers a comparison with a table citing both papers. The screenshot is
    the one in docs/screenshot-comparison.png (copy it from this test's tmp_path)."""
    from selenium.webdriver.common.by import By

    from assistant.llms.builtin import default_registry

    registry = default_registry()
    settings = make_settings(built_store, ui={"port": 0})
    if not registry.check(settings.llm).ready:
        pytest.skip(f"{settings.llm.backend} is not installed: {registry.check(settings.llm).detail}")
    demo = launch(build_app(build(settings, registry=registry, embedder=embedder)), settings, block=False)
    try:
        browser.set_window_size(1400, 1250)
        browser.get(demo.local_url)
        ask(browser, "Compare LoRAMoE and DePT.")
        deadline = time.monotonic() + 600  # model load and generation on two CPU cores
        def finished() -> bool:  # the checked answer: no status line, preview or draft label left
            text = last_bubble(browser)
            return bool(text) and "⏳" not in text

        while time.monotonic() < deadline and not finished():
            time.sleep(1)
        table = browser.find_element(By.CSS_SELECTOR, "#pa-chat table")
        assert "LoRAMoE" in table.text and "DePT" in table.text
        assert browser.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-1']")
        assert browser.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-2']")
        browser.execute_script("document.querySelector('#pa-chat .bubble-wrap, #pa-chat [role=log]')?.scrollTo(0, 0)")
        browser.save_screenshot(str(tmp_path / "screenshot-comparison.png"))
    finally:
        demo.close()


def test_upload_then_a_question_finds_the_paper_then_export_its_bibtex(browser, embedder, corpus_papers, tmp_path):
    """A researcher's own file: uploaded in the Papers tab into a store that lacks its papers, found by the next
    question with no restart, and the answer's references downloaded as a .bib file."""
    from selenium.webdriver.common.by import By

    from tests.ingest.test_library import DATA, LETI

    store = tmp_path / "index"
    ingest([p for p in corpus_papers if "LeTI" not in p.title][:30], make_settings(store), embedder, progress=False)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    fake = FakeBackend()
    demo = serve(store, embedder, fake)
    try:
        browser.get(demo.local_url)
        tab = wait_for(browser, lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "button[role='tab']")
                                           if b.text.strip() == "Papers"], "the Papers tab")[0]
        tab.click()
        upload = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-upload input[type='file']"),
                          "the upload box")[0]
        upload.send_keys(str(DATA / "library.bib"))
        # The file list shows the name in two parts ("library", ".bib") and the size once the upload is done.
        wait_for(browser, lambda d: "KB" in d.find_element(By.ID, "pa-upload").text, "the uploaded file")
        browser.find_element(By.ID, "pa-add").click()
        status = wait_for(browser, lambda d: (t := d.find_element(By.ID, "pa-upload-status").text) and
                          "Added" in t and t, "the upload to finish")
        assert "Added to “default”: 1 file(s), 6 entries; skipped 1 without an abstract" in status
        browser.save_screenshot(str(tmp_path / "upload.png"))

        tabs = browser.find_elements(By.CSS_SELECTOR, "button[role='tab']")
        next(b for b in tabs if b.text.strip() == "Chat").click()
        ask(browser, "How does LeTI learn from textual interactions?")
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-1']"), "the answer")
        assert LETI in browser.find_element(By.ID, "src-1").text

        browser.find_element(By.CSS_SELECTOR, "#pa-export button").click()  # open the export accordion
        button = wait_for(browser, lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "#pa-dl-bib")
                                              if b.is_displayed() and b.is_enabled()], "the .bib download")[0]
        button.click()
        bib = wait_for(browser, lambda d: [p for p in downloads.glob("*.bib")], "the downloaded .bib")[0]
        text = bib.read_text()
        assert "@" in text and LETI in text and "Xingyao Wang and Hao Peng" in text and "{wang2023leti," in text
    finally:
        demo.close()


def test_a_markers_evidence_lights_up_on_hover_and_click(browser, built_store, embedder):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    fake = FakeBackend()
    fake.enqueue("LeTI fine-tunes the model on textual feedback from a Python interpreter, using error messages "
                 "and stack traces as the feedback for generated programs [1].")
    demo = serve(built_store, embedder, fake)
    try:
        browser.get(demo.local_url)
        ask(browser, "How does LeTI use error messages from the Python interpreter?")
        wait_for(browser, lambda d: "⏳" not in last_bubble(d), "the checked answer")  # the preview links [n] too
        settled(browser)
        link = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pa-chat a[href='#src-1']"),
                        "the [1] marker link")[0]
        marks = browser.find_elements(By.CSS_SELECTOR, "#src-1 mark.pa-ev")
        assert marks and "interpreter" in " ".join(m.text for m in marks)  # Gradio kept the <mark> and its class

        def background() -> str:
            return browser.execute_script("return getComputedStyle(arguments[0]).backgroundColor", marks[0])

        assert background() == "rgba(0, 0, 0, 0)"  # underlined only, until its marker is pointed at
        ActionChains(browser).move_to_element(link).perform()
        wait_for(browser, lambda d: background() != "rgba(0, 0, 0, 0)", "the evidence lit on hover")
        ActionChains(browser).move_to_element(browser.find_element(By.ID, "pa-question")).perform()
        wait_for(browser, lambda d: background() == "rgba(0, 0, 0, 0)", "the evidence unlit")
        link.click()
        wait_for(browser, lambda d: background() != "rgba(0, 0, 0, 0)", "the evidence lit on click (:target)")
        tabs = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "button[role='tab']")]
        assert "Review table" in tabs
    finally:
        demo.close()
