# SPDX-License-Identifier: LGPL-2.1-or-later
"""Node managers (sessions on one node) and the island manager (sessions across nodes).

Import from the modules: ``liuray.managers.node.NodeManager``,
``liuray.managers.island.IslandManager``.
"""
