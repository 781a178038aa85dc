# SPDX-License-Identifier: LGPL-2.1-or-later
"""Small functions DALiuGE graphs call by name (``dlg.apps.simple_functions.*``).

Graphs made with EAGLE's DALiuGE palette name these helpers in a PyFuncApp's
``func_name``; :data:`DALIUGE_NAMES` maps those names to the implementations here so
the graphs run without DALiuGE installed.

>>> DALIUGE_NAMES["dlg.apps.simple_functions.string2json"]('["a", 1]')
['a', 1]
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def read_lines(file_name: str) -> list[str]:
    """The whitespace-separated words of a text file."""
    return Path(file_name).read_text().split()


def create_range(low: int, high: int, step: int) -> range:
    """``range(low, high, step)``."""
    return range(low, high, step)


def create_multi_out(v1: Any = 1, v2: Any = 7) -> tuple[Any, Any]:
    """Both values, as a pair (for graphs with two outputs)."""
    return v1, v2


def get_max(v1: Any, v2: Any) -> Any:
    """The larger of two values."""
    return max(v1, v2)


def string2json(string: str, pickle_flag: bool = False) -> Any:
    """Parse a JSON text; with ``pickle_flag`` return the result pickled."""
    value = json.loads(string)
    return pickle.dumps(value) if pickle_flag else value


def value_from_dict(dict_in: Mapping[str, Any], dict_key: Any) -> Any:
    """``dict_in[dict_key]`` (a list key selects by its first element)."""
    key = dict_key if isinstance(dict_key, str) else dict_key[0]
    return dict_in[key]


def keys_from_dict(dict_in: Mapping[str, Any]) -> list[str]:
    """The keys of a mapping, as a list."""
    return list(dict_in)


_PREFIX = "dlg.apps.simple_functions."
DALIUGE_NAMES: dict[str, Callable[..., Any]] = {
    _PREFIX + "readLines": read_lines,
    _PREFIX + "createRange": create_range,
    _PREFIX + "createMultiOut": create_multi_out,
    _PREFIX + "getMax": get_max,
    _PREFIX + "string2json": string2json,
    _PREFIX + "value_from_dict": value_from_dict,
    _PREFIX + "keys_from_dict": keys_from_dict,
}
