# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python function apps as Ray tasks (``liuray serve --ray ... --app-tasks``).

A node manager normally runs a PyFuncApp on its own node. Given a
:class:`RayTaskExecutor` as its app executor, it submits the call as a Ray task that asks
for the app's resources (``num_cpus``, ``num_gpus``, ``resources``), so Ray places it
anywhere in the cluster and the autoscaler sees the demand; the NM's worker thread waits
for the result. Cancelling the app cancels the task.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from liuray.errors import missing_extra

try:
    import ray
    from ray.exceptions import RayTaskError
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise missing_extra("ray", "ray") from err


class RayTaskExecutor(Executor):
    """Runs Python function apps as Ray tasks, each asking for the app's resources.

    Ray then schedules them anywhere in the cluster (the autoscaler sees their demand,
    GPUs and custom resources included); the NM's worker thread waits for the result.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.submit_with_resources({"CPU": 1.0}, fn, *args, **kwargs)

    def submit_with_resources(
        self, needs: dict[str, float], fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Future[Any]:
        """Start ``fn(*args, **kwargs)`` as a Ray task reserving ``needs``."""
        custom = {k: v for k, v in needs.items() if k not in ("CPU", "GPU")}
        task = ray.remote(fn).options(
            num_cpus=needs.get("CPU", 1.0),
            num_gpus=needs.get("GPU", 0.0),
            resources=custom or None,
            max_retries=0,
        )
        return _TaskFuture(task.remote(*args, **kwargs))


class _TaskFuture(Future[Any]):
    """A future for a Ray task; cancelling it cancels the task (and its demand)."""

    def __init__(self, ref: Any) -> None:
        super().__init__()
        self._ref = ref
        ref.future().add_done_callback(self._settle)

    def _settle(self, done: Future[Any]) -> None:
        if self.cancelled():
            return
        error = done.exception()
        if error is not None:
            self.set_exception(error.cause if isinstance(error, RayTaskError) else error)
        else:
            self.set_result(done.result())

    def cancel(self) -> bool:
        ray.cancel(self._ref, force=True)
        return super().cancel()
