# SPDX-License-Identifier: LGPL-2.1-or-later
"""Palette placeholders: DALiuGE app classes that exist only to describe a component.

DALiuGE 6.6.0 defines some app classes with nothing to run: the templates of its EAGLE
palettes (``dlg.apps.simple.DALiuGEApp``, ``dlg.apps.pyfunc.PyMemberApp``, the
construct templates of ``dlg.apps.constructs``) and the bare ``BarrierAppDROP`` base.
A physical graph naming one deploys there, fires like any barrier app, fails (the class
has no ``run``) and its outputs end in ERROR. :class:`PlaceholderApp` does the same,
with a message that says what to use instead.
"""

from __future__ import annotations

from liuray.engine.apps.base import AppDrop
from liuray.errors import DropExecutionError


class PlaceholderApp(AppDrop):
    """Fails when run, as the DALiuGE class it stands for does."""

    __slots__ = ()

    def run(self) -> None:
        dropclass = str(self.spec.get("dropclass") or "this class")
        raise DropExecutionError(
            f"{dropclass} has nothing to run: DALiuGE 6.6.0 defines it only as a palette "
            "template (it fails there too). Name a real component instead: an app class "
            "such as dlg.apps.pyfunc.PyFuncApp or dlg.apps.bash_shell_app.BashShellApp; a "
            "construct (Scatter, Gather, Loop...) is unrolled by the translator, not run",
            uid=self.uid,
        )
