"""Shared fixtures: synthetic smear fields and the shared datasets."""

from __future__ import annotations

import runpy
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from synthetic import grid_centres, synthetic_field

SHARED_DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as in a terminal, also when the suite is started in the background (``nohup
    ... &``), where the shell ignores SIGINT and every process started from it inherits that:
    the interrupt tests would then see nothing interrupted."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def field_png(tmp_path) -> Path:
    """A 240x320 PNG with 12 separate discs of radius 18 px, none touching the border."""
    path = tmp_path / "field.png"
    Image.fromarray(synthetic_field(grid_centres())).save(path)
    return path


@pytest.fixture
def run_script(monkeypatch, capsys) -> Callable[..., tuple[int, str, str]]:
    """Run a script of ``scripts/`` as ``__main__`` in this process with its arguments: its exit
    code, stdout and stderr. A subprocess spent ~5 s importing torch and the package again;
    an exception the script does not turn into an exit fails the test, as a traceback would."""

    def run(script: Path, *args: object) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", [str(script), *map(str, args)])
        monkeypatch.syspath_prepend(str(script.parent))  # as python puts a script's folder
        code = 0
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as stopped:
            code = stopped.code or 0
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    return run


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.exists():
        pytest.skip("../shared/datasets is not beside the project")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def smoke_cache(tmp_path_factory) -> Path:
    """A crop cache shared by the training smoke tests (limit 3: a few fields per dataset).

    It starts with a stale file of the same family, which the extraction must delete, and one
    of the full-dataset family, which it must keep (``test_stale_crop_caches_are_removed``).
    """
    cache = tmp_path_factory.mktemp("smoke-cache")
    for name in STALE_SMOKE_CACHE, OTHER_FAMILY_CACHE:
        (cache / name).write_bytes(b"old")
    return cache


STALE_SMOKE_CACHE = "crops-limit3-000000000000.npz"
OTHER_FAMILY_CACHE = "crops-000000000000.npz"
