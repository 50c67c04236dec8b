import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def eligo_bin() -> pathlib.Path:
    """The CLI to compare with: $ELIGO_BIN or target/release/eligo (built by tests/run.sh)."""
    b = pathlib.Path(os.environ.get("ELIGO_BIN", ROOT / "target" / "release" / "eligo"))
    if not b.is_file():
        pytest.fail(f"{b} is missing: build it with `cargo build --release` (or set ELIGO_BIN)")
    return b
