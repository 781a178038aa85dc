# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cluster bring-up: what runs where, and the configs that start it.

- :mod:`liuray.deploy.configs`: Ray cluster-launcher configs (``ray up``) for AWS and
  on-prem hosts, as plain dicts built by pure functions (no Ray import), and what
  every platform shares (settings, the install line, the DIM line, the checks).
- :mod:`liuray.deploy.clouds`: launcher configs for Google Cloud and Azure.
- :mod:`liuray.deploy.kuberay`: a KubeRay manifest (RayCluster, token Secret, Service).
- :mod:`liuray.deploy.slurm`: an ``sbatch`` script (template ``slurm.sbatch``).
- Membership (one node manager per alive Ray node) is reconciled by
  :mod:`liuray.managers.membership` and carried out by :mod:`liuray.transports.ray`.

Nothing is imported here, so ``import liuray.deploy`` never pulls in Ray or PyYAML.
"""
