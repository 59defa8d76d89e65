"""What a request says while it runs, and stopping it: the preview, the gate's line with positions, the model's
timings and estimate, the warm-up, and cancellation that frees the model for the next question. Real corpus, real
embedding model and store; the registered fake backend (with delays standing in for a model's reading time)."""

from __future__ import annotations

import json
import random
import re
import threading
import time

import pytest

from assistant.answer.gate import Busy, Gate
from assistant.answer.pipeline import (
    Finished,
    Generating,
    Pipeline,
    Preview,
    SourcesFound,
    Stopped,
    TextDelta,
    Tick,
    Waiting,
)
from assistant.config import LLMSettings
from assistant.llms.base import BackendSpec, Readiness, Request
from assistant.llms.fake import FakeBackend
from assistant.llms.registry import BackendPool, Registry
from assistant.llms.timing import ModelTimings, Warmup
from assistant.search.retriever import Retriever
from assistant.search.store import PaperStore
from assistant.text import split_sentences
from tests.support import make_settings

LONG_REPLY = " ".join(["LeTI learns from the interpreter's error messages [1]."] * 60)


@pytest.fixture(scope="module")
def retriever(built_store, embedder):
    settings = make_settings(built_store)
    return Retriever(settings, PaperStore(settings), embedder)


def make_pipeline(retriever, backend, gate: Gate | None = None, timings: ModelTimings | None = None) -> Pipeline:
    return Pipeline(retriever.settings, retriever, BackendPool.of(backend), gate=gate, timings=timings)


def questions(corpus_papers, n: int, seed: int) -> list[tuple[str, str]]:
    """(question, paper title) over real corpus papers: a title's words asked about, seeded."""
    rng = random.Random(seed)
    papers = rng.sample([p for p in corpus_papers if len(p.title.split()) >= 4 and p.abstract], n)
    templates = ["What does the paper “{t}” propose?", "How does “{t}” work?", "What are the results of “{t}”?"]
    return [(rng.choice(templates).format(t=p.title), p.title) for p in papers]


# -- the gate ---------------------------------------------------------------------------------------------------


def test_the_gate_serves_in_order_and_says_how_many_are_ahead():
    gate = Gate(1, 3)
    first = gate.join()
    assert first.holding and first.ahead() == 0
    second, third = gate.join(), gate.join()
    assert (second.ahead(), third.ahead()) == (1, 2) and gate.waiting == 2
    assert not third.wait(0.01)
    first.release()
    assert second.holding and not third.holding and third.ahead() == 1
    fourth = gate.join()
    third.release()  # gives up its place in line: the one behind moves up
    assert fourth.ahead() == 1 and gate.waiting == 1
    second.release()
    assert fourth.wait(1) and gate.running == 1 and gate.waiting == 0
    fourth.release()
    fourth.release()  # twice is harmless
    assert gate.running == 0


def test_a_full_line_is_busy_at_once_and_a_slot_block_always_gives_back():
    gate = Gate(1, 1)
    holder, waiter = gate.join(), gate.join()
    with pytest.raises(Busy, match="1 running, 1 waiting"):
        gate.join()
    waiter.release()
    holder.release()
    with pytest.raises(RuntimeError), gate.slot():
        assert gate.running == 1
        raise RuntimeError("the request failed")
    assert gate.running == 0 and gate.waiting == 0


def test_waiters_are_woken_in_the_order_they_came():
    gate = Gate(1, 10)
    holder = gate.join()
    served: list[int] = []
    tickets = [gate.join() for _ in range(5)]

    def wait(i: int) -> None:
        tickets[i].wait()
        served.append(i)
        tickets[i].release()

    threads = [threading.Thread(target=wait, args=(i,)) for i in reversed(range(5))]  # started in reverse
    for t in threads:
        t.start()
    time.sleep(0.1)
    holder.release()
    for t in threads:
        t.join(5)
    assert served == [0, 1, 2, 3, 4]


# -- the preview and the events ---------------------------------------------------------------------------------


def test_the_preview_quotes_the_sources_with_their_markers_before_the_model_writes(retriever, corpus_papers):
    fake = FakeBackend()
    pipeline = make_pipeline(retriever, fake)
    shown = 0
    for question, _title in questions(corpus_papers, 8, seed=17):
        events = list(pipeline.stream(question))
        kinds = [type(e) for e in events]
        assert kinds[0] is SourcesFound and kinds[-1] is Finished
        found = events[0].sources
        previews = [e for e in events if isinstance(e, Preview)]
        if not previews:
            continue
        shown += 1
        assert kinds.index(Preview) < kinds.index(Generating) < kinds.index(TextDelta)
        # Each preview sentence is a sentence of the source its marker names, so it is supported by construction.
        by_n = {s.n: split_sentences(s.text) for s in found}
        for sentence, n in re.findall(r"(.+?) \[(\d+)\](?: |$)", previews[0].text):
            assert sentence.strip() in [x.rstrip() for x in by_n[int(n)]]
        assert len(re.findall(r"\[\d+\]", previews[0].text)) <= 2
    assert shown >= 6  # a title's words match some sentence of its own abstract nearly always


def test_no_preview_for_a_refusal_or_the_extractive_backend(retriever):
    from assistant.llms.extractive import ExtractiveBackend

    refused = list(make_pipeline(retriever, FakeBackend()).stream("What is the boiling point of the ExeCAD dataset?"))
    assert not any(isinstance(e, Preview | Generating) for e in refused)
    extractive = list(make_pipeline(retriever, ExtractiveBackend()).stream(
        "How does LeTI use error messages from the Python interpreter?"))
    assert not any(isinstance(e, Preview) for e in extractive) and isinstance(extractive[-1], Finished)


def test_the_estimate_comes_from_this_machines_timings_and_is_saved(retriever, tmp_path):
    path = tmp_path / "timings.json"
    fake = FakeBackend(first_delay=0.3)
    pipeline = make_pipeline(retriever, fake, timings=ModelTimings(path))
    question = "How does LeTI use error messages from the Python interpreter?"
    first = next(e for e in list(pipeline.stream(question)) if isinstance(e, Generating))
    assert first.estimate is None and first.model == "fake" and first.sources == 5 and first.prompt_chars > 1000
    second = next(e for e in make_pipeline(retriever, fake, timings=ModelTimings(path)).stream(question)
                  if isinstance(e, Generating))  # a new process would read the file
    assert second.estimate is not None and 0.2 < second.estimate < 1.5
    assert json.loads(path.read_text())["fake"]["prefill_s_per_char"] > 0


def test_timings_survive_a_corrupt_file_and_do_not_time_tiny_prompts(tmp_path, caplog):
    path = tmp_path / "timings.json"
    path.write_text("{not json")
    timings = ModelTimings(path)
    assert timings.prefill_estimate("m", 1000) is None and "unreadable timings" in caplog.text
    timings.record_prefill("m", 20, 5.0)  # too short to be a reading speed
    assert timings.prefill_estimate("m", 1000) is None
    timings.record_prefill("m", 1000, 2.0)
    timings.record_prefill("m", 1000, 4.0)  # smoothed, not replaced
    assert timings.prefill_estimate("m", 1000) == pytest.approx(3.0)
    timings.record_load("m", 8.0)
    assert ModelTimings(path).load_estimate("m") == 8.0 and not list(tmp_path.glob(".timings.*"))


# -- stopping ---------------------------------------------------------------------------------------------------


def test_stop_while_the_model_writes_then_the_next_question_is_answered(retriever):
    gate = Gate(1, 4)
    fake = FakeBackend(delay=0.05)
    fake.enqueue(LONG_REPLY)
    pipeline = make_pipeline(retriever, fake, gate)
    run = pipeline.run("How does LeTI use error messages from the Python interpreter?", tick=0.2)
    seen: list[object] = []
    stopped_at = None
    for event in run:
        seen.append(event)
        if isinstance(event, TextDelta) and stopped_at is None:
            run.stop()
            stopped_at = time.monotonic()
        if isinstance(event, Stopped):
            break
    assert isinstance(seen[-1], Stopped) and time.monotonic() - stopped_at < 1.0
    assert 0 < len(seen[-1].draft) < len(LONG_REPLY) and not any(isinstance(e, Finished) for e in seen)
    assert gate.running == 0 and gate.waiting == 0  # the slot was given back
    answer = pipeline.ask("How does LeTI use error messages from the Python interpreter?")
    assert not answer.refused and "[" in answer.answer


def test_stop_while_the_model_reads_returns_within_a_second(retriever):
    gate = Gate(1, 4)
    fake = FakeBackend(first_delay=30)  # a model that would read its prompt for 30 s
    pipeline = make_pipeline(retriever, fake, gate)
    cancel = threading.Event()
    run = pipeline.run("How does LeTI use error messages from the Python interpreter?", cancel=cancel, tick=0.2)
    ticks, reading = 0, False
    for event in run:
        reading = reading or isinstance(event, Generating)
        ticks += reading and isinstance(event, Tick)
        if ticks == 2 and not cancel.is_set():  # the heartbeat goes on while the model reads: stop it now
            cancel.set()
            t0 = time.monotonic()
        if isinstance(event, Stopped):
            assert event.draft == "" and time.monotonic() - t0 < 1.0
            break
    else:
        pytest.fail("no Stopped event")
    assert gate.running == 0


def test_leaving_a_run_early_cancels_it_and_frees_the_slot(retriever):
    gate = Gate(1, 4)
    fake = FakeBackend(delay=0.05)
    fake.enqueue(LONG_REPLY)
    pipeline = make_pipeline(retriever, fake, gate)
    events = iter(pipeline.run("How does LeTI use error messages from the Python interpreter?", tick=0.2))
    while not isinstance(next(events), TextDelta):
        pass
    t0 = time.monotonic()
    events.close()  # a client hung up
    assert time.monotonic() - t0 < 2 and gate.running == 0


def test_a_question_waits_in_line_says_so_and_can_be_stopped_there(retriever):
    gate = Gate(1, 4)
    holder = gate.join()  # another request holds the model
    pipeline = make_pipeline(retriever, FakeBackend(), gate)
    run = pipeline.run("How does LeTI use error messages from the Python interpreter?", tick=0.2)
    events = iter(run)
    seen = []
    for event in events:
        if not isinstance(event, Tick):
            seen.append(event)
        if isinstance(event, Waiting):
            break
    assert [type(e) for e in seen] == [SourcesFound, Preview, Waiting] and seen[-1].ahead == 1
    run.stop()
    rest = [e for e in events if not isinstance(e, Tick)]
    assert [type(e) for e in rest] == [Stopped] and gate.waiting == 0
    # and one that waits goes on once the holder is done
    later = pipeline.run("How does LeTI use error messages from the Python interpreter?", tick=0.2)
    threading.Timer(0.5, holder.release).start()
    kinds = [type(e) for e in later if not isinstance(e, Tick)]
    assert kinds.index(Waiting) < kinds.index(Generating) and kinds[-1] is Finished


def test_errors_of_the_stream_are_raised_where_the_run_is_read(retriever):
    gate = Gate(1, 0)
    holder = gate.join()
    pipeline = make_pipeline(retriever, FakeBackend(), gate)
    with pytest.raises(Busy):
        list(pipeline.run("How does LeTI use error messages from the Python interpreter?"))
    holder.release()
    fake = FakeBackend()
    fake.enqueue(RuntimeError("the server died"))
    from assistant.llms.base import GenerationError

    with pytest.raises(GenerationError, match="the server died"):
        list(make_pipeline(retriever, fake).run("How does LeTI use error messages from the Python interpreter?"))


# -- the warm-up ------------------------------------------------------------------------------------------------


class SlowLoading(FakeBackend):
    """A fake with a model to load, as the llama.cpp backends have (`load`, `loaded`)."""

    name = "slow-loading"

    def __init__(self, seconds: float, fails: bool = False) -> None:
        super().__init__(first_delay=0.05)
        self.seconds, self.fails, self._loaded = seconds, fails, False

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        time.sleep(self.seconds)
        if self.fails:
            from assistant.llms.base import BackendError

            raise BackendError("llm: cannot load the GGUF model /x.gguf: bad magic")
        self._loaded = True


def pool_of(backend) -> BackendPool:
    registry = Registry()
    registry.register(BackendSpec(backend.name, "test", lambda s: backend, lambda s: Readiness(True, "ok")))
    return BackendPool(registry, LLMSettings(backend=backend.name))


def test_the_warm_up_says_loading_then_ready_and_times_the_model(tmp_path):
    timings = ModelTimings(tmp_path / "timings.json")
    backend = SlowLoading(0.4)
    warmup = Warmup(pool_of(backend), timings)
    assert warmup.state().phase == "idle"
    thread = warmup.start()
    time.sleep(0.2)
    state = warmup.state()
    assert state.phase == "loading" and state.expected is None and 0.1 < state.elapsed < 0.4
    thread.join(5)
    state = warmup.state()
    assert state.phase == "ready" and 0.35 < state.elapsed < 1.5
    assert timings.load_estimate("slow-loading") == pytest.approx(state.elapsed)
    assert timings.prefill_estimate("slow-loading", 1000) is not None  # calibrated once, with a real prompt
    assert len(backend.history) == 1 and backend.history[0].max_tokens == 1
    again = Warmup(pool_of(SlowLoading(0.1)), ModelTimings(tmp_path / "timings.json"))
    again.start()
    assert again.state().expected == pytest.approx(state.elapsed)  # "about N s" from the last load here


def test_a_failed_warm_up_says_why(tmp_path):
    warmup = Warmup(pool_of(SlowLoading(0.0, fails=True)), ModelTimings(None))
    warmup.start().join(5)
    state = warmup.state()
    assert state.phase == "failed" and "bad magic" in state.detail


def test_a_question_asked_while_the_model_loads_says_so(retriever, tmp_path):
    timings = ModelTimings(tmp_path / "timings.json")
    timings.record_load("slow-loading", 4.0)
    timings.record_prefill("slow-loading", 1000, 1.0)
    backend = SlowLoading(0.0)
    pipeline = Pipeline(retriever.settings, retriever, BackendPool.of(backend), timings=timings)
    generating = next(e for e in pipeline.stream("How does LeTI use error messages from the Python interpreter?")
                      if isinstance(e, Generating))
    assert generating.loading and generating.estimate == pytest.approx(4.0 + generating.prompt_chars / 1000)


def test_request_cancel_is_seen_by_the_fake_backend_between_words():
    cancel = threading.Event()
    fake = FakeBackend(delay=0.01)
    fake.enqueue("one two three four five six")
    words = []
    for word in fake.generate(Request(messages=[], cancel=cancel)):
        words.append(word)
        if len(words) == 2:
            cancel.set()
    assert words == ["one ", "two "]
