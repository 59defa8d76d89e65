"""Settings: precedence (defaults < file < env < flags) and errors that name the key."""

from __future__ import annotations

import pytest

from assistant.config import ConfigError, load_settings


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.llm.backend == "qwen2.5-coder-1.5b"
    assert s.ui.host == "127.0.0.1" and s.ui.port == 7860
    assert s.store.path.name == "index"


def test_precedence_file_env_flags(monkeypatch, tmp_path):
    cfg = tmp_path / "pa.toml"
    cfg.write_text('[llm]\nbackend = "ollama"\nmodel = "qwen2.5"\n[retrieval]\nk = 7\n')
    s = load_settings(cfg)
    assert (s.llm.backend, s.llm.model, s.retrieval.k) == ("ollama", "qwen2.5", 7)
    monkeypatch.setenv("PAPER_ASSISTANT_RETRIEVAL__K", "3")
    assert load_settings(cfg).retrieval.k == 3
    assert load_settings(cfg).llm.model == "qwen2.5"  # env for one key keeps the file's other keys
    assert load_settings(cfg, {"retrieval": {"k": 9}}).retrieval.k == 9


def test_config_from_env_var_and_cwd(monkeypatch, tmp_path):
    (tmp_path / "paper-assistant.toml").write_text('[ui]\nport = 9000\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings().ui.port == 9000
    other = tmp_path / "other.toml"
    other.write_text('[ui]\nport = 9001\n')
    monkeypatch.setenv("PAPER_ASSISTANT_CONFIG", str(other))
    assert load_settings().ui.port == 9001


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[llm]\nbakend = "x"\n', "llm.bakend: unknown setting"),
        ('[retrieval]\nk = "many"\n', "retrieval.k"),
        ('colour = 1\n', "colour: unknown setting"),
        ('[llm\nbackend = "x"\n', "not valid TOML"),
    ],
)
def test_bad_file_names_file_and_key(tmp_path, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert needle in str(err.value) and str(cfg) in str(err.value)


def test_bad_env_var_names_the_key(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAPER_ASSISTANT_UI__PORT", "not-a-port")
    with pytest.raises(ConfigError, match=r"ui\.port"):
        load_settings()


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_relative_defaults_and_packaged_resources(monkeypatch, tmp_path):
    """Data paths are relative to the working directory; prompts and the built-in corpus come from the package."""
    from assistant.resources import corpus_dir, prompts_dir

    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert not s.store.path.is_absolute() and s.store.path.resolve() == tmp_path / "data" / "index"
    assert s.prompts_dir is None and s.corpus.paths == []
    assert (prompts_dir() / "answer.md").is_file()
    assert len(list(corpus_dir().glob("*.txt"))) == 5


@pytest.mark.parametrize(("choice", "needle"), [({"k": 500}, "k"), ({"k": 0}, "k"), ({"hybrid": "maybe"}, "hybrid"),
                                                ({"colour": 1}, "colour")])
def test_request_options_are_validated(choice, needle):
    """Per-request options keep the bounds of the settings they override: a k of 500 is an error naming k."""
    from assistant.config import Options, Settings

    with pytest.raises(ConfigError, match=rf"request options: {needle}"):
        Options.for_request(Settings(), **choice)


def test_request_options_fill_from_settings_and_are_frozen():
    from pydantic import ValidationError

    from assistant.config import Options, Settings

    settings = Settings.model_validate({"retrieval": {"k": 7, "hybrid": False}, "llm": {"backend": "extractive"}})
    options = Options.for_request(settings, k=None, rerank=True)
    assert (options.backend, options.k, options.hybrid, options.rerank) == ("extractive", 7, False, True)
    with pytest.raises(ValidationError):
        options.k = 9  # type: ignore[misc]
