# SPDX-License-Identifier: LGPL-2.1-or-later
"""How the island manager reaches node managers, and how node managers reach each other."""

from liuray.managers.transport import Transport
from liuray.transports.inproc import InProcessTransport

__all__ = ["InProcessTransport", "Transport"]
