"""Running ``smearscan`` in the test process and reading the one line it said."""

from __future__ import annotations

from smearscan.cli import main


def exit_code(*args: object) -> int:
    """``smearscan args...`` in this process; its exit code, a parser's included."""
    try:
        return main(list(map(str, args)))
    except SystemExit as stop:
        return stop.code


def one_line(capsys) -> str:
    """The one line a refusal printed on stderr, with nothing on stdout and no traceback."""
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    return err.rstrip("\n")
