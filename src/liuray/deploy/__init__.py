# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cluster bring-up: what runs where, and the configs that start it.

- :mod:`liuray.deploy.configs`: Ray cluster-launcher configs (``ray up``) for AWS and
  on-prem hosts, as plain dicts built by pure functions (no Ray import).
- :mod:`liuray.deploy.ray`: the membership reconciler that keeps one node manager per
  alive Ray node (needs ``liuray[ray]``).

Nothing is imported here, so ``import liuray.deploy`` never pulls in Ray or PyYAML.
"""
