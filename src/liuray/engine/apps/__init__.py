# SPDX-License-Identifier: LGPL-2.1-or-later
"""Application drops: Python functions, bash commands and DALiuGE's simple apps."""

from liuray.engine.apps.base import AppContext, AppDrop

__all__ = ["AppContext", "AppDrop"]
