"""docs/forge.rst works as written: its doctests pass and its JSON is JSON.

Its Python examples run against the testing kit in tests/integrations/test_forge_docs.py.
"""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

PAGE = Path(__file__).parent.parent.parent / "docs" / "forge.rst"


def test_the_pages_doctests_pass() -> None:
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


def test_every_json_block_is_json() -> None:
    blocks = re.findall(r"\.\. code-block:: json\n\n((?:    .*\n)+)", PAGE.read_text())
    assert blocks
    for block in blocks:
        assert isinstance(json.loads(block), dict)
