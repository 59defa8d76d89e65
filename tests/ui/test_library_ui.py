"""The page's library side without a browser: files added to a collection (limits, malformed files, nothing
half-written, searchable at once), saved chats (round trip, bad files), a reopened chat, and upload, browse and a
filtered question through the real HTTP API with gradio_client."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.app import build
from assistant.llms.fake import FakeBackend
from assistant.search.store import PaperStore
from assistant.ui.chat import chat_turn, reopen
from assistant.ui.chats import ChatFileError, list_chats, load_chat, save_chat
from assistant.ui.upload import UploadError, add_files
from tests.ingest.test_library import BAD, DATA, LETI
from tests.support import make_settings


@pytest.fixture
def app(store_copy, embedder, tmp_path):
    settings = make_settings(store_copy, ui={"chats_dir": str(tmp_path / "chats"), "max_upload_files": 3,
                                             "max_upload_mb": 1})
    return build(settings, backend=FakeBackend(), embedder=embedder)


def test_an_upload_is_searchable_in_its_collection_at_once(app):
    added = add_files(app, [DATA / "library.bib"], "zotero-export")
    assert (added.papers_new, added.skipped) == (6, 1) and "searchable now" in added.message()
    hits = app.collections.retriever("zotero-export").search("learning from textual interactions", 3)
    assert hits[0].title == LETI
    answer = app.pipeline.ask("How does LeTI learn from textual interactions?",
                              options=app.pipeline.options(collection="zotero-export"))
    assert answer.sources[0].title == LETI and answer.collection == "zotero-export"
    assert "zotero-export" in app.collections.names() and "default" in app.collections.names()
    again = add_files(app, [DATA / "library.bib", DATA / "library.ris"], "zotero-export")  # incremental
    assert again.papers_unchanged >= 6


def test_uploading_into_the_open_default_collection_is_seen_by_the_next_question(app):
    before = app.collections.retriever().store.count_chunks()
    add_files(app, [DATA / "arxiv.atom"], "default")
    assert app.collections.retriever().store.count_chunks() >= before
    assert app.pipeline.retriever_for(app.pipeline.options()).store.count_chunks() == \
        PaperStore(app.settings).count_chunks()


@pytest.mark.parametrize("bad", sorted(p.name for p in BAD.iterdir()))
def test_a_malformed_file_names_itself_and_nothing_is_written(app, bad, tmp_path):
    # A good file first: it must not be half-added when the second one is bad.
    upload = tmp_path / "gradio" / "abc123" / bad
    upload.parent.mkdir(parents=True)
    shutil.copy(BAD / bad, upload)
    with pytest.raises(UploadError) as err:
        add_files(app, [DATA / "library.json", upload], "fresh")
    message = str(err.value)
    assert message.startswith(bad) and "Nothing was added" in message and str(upload.parent) not in message
    assert "fresh" not in app.collections.names()


def test_limits_and_formats(app, tmp_path):
    with pytest.raises(UploadError, match="at most 3 per upload"):
        add_files(app, [DATA / "library.bib"] * 4, "x")
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"title": "T", "abstract": "a" * 2_000_000}) + "\n")
    with pytest.raises(UploadError, match=r"big.jsonl: 1.9 MB is over the 1 MB limit \(ui.max_upload_mb\)"):
        add_files(app, [big], "x")
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    with pytest.raises(UploadError, match=r"paper\.pdf: unknown format"):
        add_files(app, [pdf], "x")
    with pytest.raises(UploadError, match="Collection name"):
        add_files(app, [DATA / "library.bib"], "My Papers!")
    with pytest.raises(UploadError, match="Choose one or more files"):
        add_files(app, [], "x")


def test_saved_chats_round_trip_and_bad_files_are_named(app, tmp_path):
    directory = app.settings.ui.chats_dir
    *_, answers = list(chat_turn(app.pipeline, "How does LeTI use error messages?", [], [], {}, "fake", 5, True,
                                 False))[-1]
    path = save_chat(directory, answers)
    assert [c.turns for c in list_chats(directory)] == [1]
    assert [a.to_dict() for a in load_chat(path, directory)] == [a.to_dict() for a in answers]
    (directory / "broken.json").write_text("{not json")
    assert len(list_chats(directory)) == 1  # listed chats are only the readable ones
    with pytest.raises(ChatFileError, match=r"broken\.json: not a saved chat"):
        load_chat(directory / "broken.json", directory)
    with pytest.raises(ChatFileError, match="not in the chats directory"):
        load_chat(tmp_path / "elsewhere.json", directory)
    with pytest.raises(ChatFileError, match="nothing to save"):
        save_chat(directory, [])
    assert not list(directory.glob(".chat-*"))  # no temp file left behind


def test_a_reopened_chat_links_earlier_markers_to_papers_and_the_last_to_the_panel(app):
    turns = list(chat_turn(app.pipeline, "How does LeTI use error messages?", [], [], {}, "fake", 5, True, False))
    chat, plain, _, links, answers = turns[-1]
    turns = list(chat_turn(app.pipeline, "What does DePT decompose?", chat, plain, links, "fake", 5, True, False,
                           answers=answers))
    answers = turns[-1][4]
    chat, plain, panel, links, back = reopen(answers)
    assert len(chat) == 4 and len(plain) == 4 and back == answers
    assert "(#src-" not in chat[1]["content"] and "(#src-" in chat[3]["content"]
    assert answers[-1].sources[0].title in panel


def test_a_question_filter_is_shown_in_the_panel_and_no_match_is_not_a_refusal(app):
    *_, (chat, _, _panel, _, answers) = chat_turn(
        app.pipeline, "How does LeTI use error messages?", [], [], {}, "fake", 5, True, False, years="2999-")
    assert "No paper in the collection “default” matches the filter (2999–)" in chat[-1]["content"]
    assert not answers[-1].refused and answers[-1].filters == "2999–"
    *_, (chat, _, _panel, _, _) = chat_turn(app.pipeline, "Bad years", [], [], {}, "fake", 5, True, False,
                                           years="2024-2020")
    assert "year_from 2024 is after year_to 2020" in chat[-1]["content"]


def test_upload_browse_and_ask_over_http(app, tmp_path):
    from gradio_client import Client, handle_file

    from assistant.ui.page import build_app
    from assistant.ui.serve import launch

    settings = app.settings
    demo = launch(build_app(app), settings.model_copy(update={"ui": settings.ui.model_copy(update={"port": 0})}),
                  block=False)
    try:
        client = Client(demo.local_url, verbose=False, download_files=str(tmp_path / "dl"))
        status, *_ = client.predict([handle_file(str(DATA / "library.ris"))], "ris-import", api_name="/upload")
        assert "Added to “ris-import”" in status and "New 4" in status
        results, _pick = client.predict("textual interactions", "ris-import", api_name="/browse")
        assert LETI in results
        bad, *_ = client.predict([handle_file(str(BAD / "truncated.ris"))], "ris-import", api_name="/upload")
        assert bad.startswith("⚠️ truncated.ris") and "Nothing was added" in bad
        _chat, panel, _ = client.predict("How does LeTI learn from interactions?", [], "fake", 5, True, False,
                                        "ris-import", "", "", "", api_name="/chat")
        assert LETI in panel
    finally:
        demo.close()
