"""How every bad-input table checks a row (CONTRIBUTING, "Bad input").

tests/test_bad_input.py holds the tables of the modules up to Part IV; a module with its own
test file (test_data.py, test_explain.py, test_attention.py, ...) keeps its table there. Both
check rows with `check` and parametrize tables with `table`.
"""
import re

import pytest

FORM = re.compile(r"expected .+\. Received: .+", re.DOTALL)


def check(call, error, fragment):
    """`call()` raises exactly `error`, in nnlib's "... expected ... Received: ..." form, with `fragment` in it."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {message}"
    assert FORM.search(message), f"not nnlib's 'expected ... Received: ...' form: {message!r}"
    assert fragment in message, f"{fragment!r} not in {message!r}"


def table(rows):
    """Parametrize a test over rows (id, call, error, fragment)."""
    return pytest.mark.parametrize("call, error, fragment", [row[1:] for row in rows], ids=[row[0] for row in rows])
