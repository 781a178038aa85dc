# SPDX-License-Identifier: LGPL-2.1-or-later
"""The REST API (Starlette): DALiuGE's island manager routes plus liuray's extensions.

Needs the ``server`` extra (``pip install 'liuray[server]'``)::

    app = create_app(IslandManager(InProcessTransport(root, nodes=2)))
"""

from liuray.api.app import DEFAULT_MAX_REQUEST_BYTES, api_routes, create_app

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "api_routes", "create_app"]
