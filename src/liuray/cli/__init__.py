# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``liuray`` command line: thin wrappers over the Python API."""
