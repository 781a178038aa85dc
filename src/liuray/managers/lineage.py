# SPDX-License-Identifier: LGPL-2.1-or-later
"""Planning a re-run after a lost node: what to run again, what to carry, what is done.

State:
    None: :func:`plan_rerun` is a pure function of the graph, where each drop ran in the
    abandoned attempt (``home``), the nodes lost, the last known state of each drop and
    the data whose content a surviving node still holds (``held``: drop -> that node).
    :func:`rerun_specs` then writes the smaller graph the next attempt deploys. The
    island manager calls both from its re-run thread (:mod:`liuray.managers.island`).

Policy (lineage, demand-driven):
    1. A drop is *done* when it settled and its result is not lost: an app FINISHED
       (or ERROR/SKIPPED: those stay as they were), or one whose outputs a survivor all
       holds (its report may have been lost with its node); a data drop COMPLETED or EXPIRED on
       a surviving node (or ERROR/SKIPPED). A data drop whose node was lost is done only
       if a survivor holds its content (a mirror delivered there, the same file on
       shared storage), or if every app reading it is done (it served its purpose); a
       lost leaf (a final output) is produced again.
    2. Every drop not done runs again. A data drop that runs again brings in all its
       producers; an app that runs again brings in all its outputs (an app with two
       outputs where one was lost writes both again: the other is produced anew, not
       carried) and needs each input: one that runs again anyway, else one *carried*
       (done, held by a survivor: deployed there as an already completed root), else
       one produced again (its producers join, recursively: the lineage).
    3. Everything else is done: not deployed, counted with its last known state. With
       nothing to run, the session ends at once.

>>> from liuray.graph.physical import load_physical_graph
>>> from liuray.engine.states import AppState, DropState
>>> graph = load_physical_graph([
...     {"oid": "a", "categoryType": "app", "dropclass": "x", "outputs": ["d"]},
...     {"oid": "d", "categoryType": "data", "dropclass": "y", "consumers": ["b"]},
...     {"oid": "b", "categoryType": "app", "dropclass": "x", "outputs": ["e"]},
...     {"oid": "e", "categoryType": "data", "dropclass": "y"},
... ])
>>> states = {"a": DropStatus.of(DropState.COMPLETED, AppState.FINISHED),
...           "d": DropStatus.of(DropState.COMPLETED)}
>>> plan = plan_rerun(graph, {"a": "n1", "d": "n1", "b": "n2", "e": "n2"}, {"n2"},
...                   states, {"d": "n1"})
>>> sorted(plan.run), dict(plan.carry), sorted(plan.done)
(['b', 'e'], {'d': 'n1'}, ['a'])
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from liuray.engine.drops.file import FileDrop, named_path
from liuray.engine.registry import builtin_data_class
from liuray.engine.states import AppState, DropState
from liuray.graph.physical import DropDescription, PhysicalGraph
from liuray.managers.reports import DropStatus
from liuray.types import DropSpec, DropUid, NodeName

#: App states that are kept: the app ran (or will never run) in the abandoned attempt.
_APP_DONE = frozenset({AppState.FINISHED, AppState.ERROR, AppState.SKIPPED})
#: Data states whose outcome is kept wherever the drop lived.
_DATA_FINAL = frozenset({DropState.ERROR, DropState.SKIPPED})
#: Data states of a drop that was written whole (its content may since be released).
_DATA_WRITTEN = frozenset({DropState.COMPLETED, DropState.EXPIRED, DropState.DELETED})
#: What a done drop that was never reported is: held data, or an app all of whose
#: outputs are held.
_COMPLETED = DropStatus.of(DropState.COMPLETED)
_FINISHED = DropStatus.of(DropState.COMPLETED, AppState.FINISHED)
_APP_LINKS = ("inputs", "streamingInputs", "outputs")
_DATA_LINKS = ("producers", "consumers", "streamingConsumers")


@dataclass(frozen=True)
class RerunPlan:
    """What the next attempt does (see the module docstring).

    Attributes:
        run: drops deployed and run again (apps, and data they write or roots).
        carry: completed data kept from the abandoned attempt, by the surviving node
            that holds it; deployed there as roots and triggered as completed.
        done: drops not deployed again, with the state they keep.
    """

    run: frozenset[DropUid]
    carry: Mapping[DropUid, NodeName]
    done: Mapping[DropUid, DropStatus]


def plan_rerun(
    graph: PhysicalGraph,
    home: Mapping[DropUid, NodeName],
    lost: Collection[NodeName],
    states: Mapping[DropUid, DropStatus],
    held: Mapping[DropUid, NodeName],
) -> RerunPlan:
    """Plan the next attempt after losing ``lost`` (see the module docstring).

    Args:
        graph: the session's whole graph.
        home: each drop's node in the abandoned attempt (absent: it was not deployed).
        lost: the nodes lost.
        states: the last known state of drops (absent: never reported, not settled).
        held: completed data drops whose content a surviving node holds, by that node.
    """
    done = {drop.oid for drop in graph if _done(graph, drop, home, lost, states, held)}
    run: set[DropUid] = set()
    todo = [drop.oid for drop in graph if drop.oid not in done]
    wanted: set[DropUid] = set()  # inputs of apps to run, kept if they do not run

    def need(uid: DropUid) -> None:
        if uid not in run:
            todo.append(uid)

    while todo:
        uid = todo.pop()
        if uid in run:
            continue
        run.add(uid)
        drop = graph[uid]
        if not drop.is_app:
            for producer in drop.producers:
                need(producer)
            continue
        for output in drop.outputs:
            need(output)
        for source in (*drop.inputs, *drop.streaming_inputs):
            if source in run:
                continue
            if source in held and source in done:
                wanted.add(source)
            else:
                need(source)
    carry = {uid: held[uid] for uid in sorted(wanted - run)}
    kept = {
        uid: states.get(uid) or (_FINISHED if graph[uid].is_app else _COMPLETED)
        for uid in sorted(done)
        if uid not in run and uid not in carry
    }
    return RerunPlan(frozenset(run), carry, kept)


def shared_files(
    graph: PhysicalGraph,
    home: Mapping[DropUid, NodeName],
    lost: Collection[NodeName],
    states: Mapping[DropUid, DropStatus],
    held: Mapping[DropUid, NodeName],
) -> dict[str, list[DropUid]]:
    """Files to look for on the surviving nodes: path -> drops naming it.

    They are the lost nodes' file drops that completed, that no survivor reported
    holding, and whose spec names an absolute path (shared storage: the same file on
    every node that mounts it). A survivor that can read such a file holds them, so
    they are carried instead of computed again. Only built-in file classes count (a
    user's class is not imported here).

    >>> from liuray.graph.physical import load_physical_graph
    >>> from liuray.engine.states import DropState
    >>> graph = load_physical_graph([
    ...     {"oid": "f", "categoryType": "Data", "dropclass": "dlg.data.drops.file.FileDROP",
    ...      "filepath": "/shared/f.txt"},
    ...     {"oid": "r", "categoryType": "Data", "dropclass": "dlg.data.drops.file.FileDROP"},
    ... ])
    >>> done = DropStatus.of(DropState.COMPLETED)
    >>> shared_files(graph, {"f": "a", "r": "a"}, {"a"}, {"f": done, "r": done}, {})
    {'/shared/f.txt': ['f']}
    """
    wanted: dict[str, list[DropUid]] = {}
    for uid, node in home.items():
        status = states.get(uid)
        if node not in lost or uid in held or status is None:
            continue
        drop = graph[uid]
        if drop.is_app or status.state is not DropState.COMPLETED:
            continue
        cls = builtin_data_class(drop.dropclass, drop.storage)
        if cls is None or not issubclass(cls, FileDrop):
            continue
        path = named_path(uid, drop.spec)
        if path.is_absolute():
            wanted.setdefault(str(path), []).append(uid)
    return wanted


def _done(
    graph: PhysicalGraph,
    drop: DropDescription,
    home: Mapping[DropUid, NodeName],
    lost: Collection[NodeName],
    states: Mapping[DropUid, DropStatus],
    held: Mapping[DropUid, NodeName],
) -> bool:
    """Whether ``drop``'s outcome survives the loss (rule 1 of the module docstring)."""
    if drop.oid in held:  # a survivor holds it completed, whatever was reported
        return True
    status = states.get(drop.oid)
    if drop.is_app:  # its outputs all held: it finished, even if no report said so
        if status is not None and status.exec_state in _APP_DONE:
            return True
        return bool(drop.outputs) and all(output in held for output in drop.outputs)
    if status is None:
        return False
    if status.state in _DATA_FINAL:
        return True
    if status.state not in _DATA_WRITTEN:
        return False
    node = home.get(drop.oid)
    if node is not None and node not in lost:
        return True
    readers = (*drop.consumers, *drop.streaming_consumers)
    return bool(readers) and all(_app_done(states.get(r)) for r in readers)


def _app_done(status: DropStatus | None) -> bool:
    return status is not None and status.exec_state in _APP_DONE


def rerun_specs(
    graph: PhysicalGraph,
    plan: RerunPlan,
    home: Mapping[DropUid, NodeName],
    lost: Collection[NodeName],
) -> list[DropSpec]:
    """The specs the next attempt deploys: ``plan.run`` and ``plan.carry`` only.

    Links to drops not deployed are cut (a carried drop keeps only its readers that run
    again, so it is a root). A carried drop is pinned to the node holding it, a drop that
    runs again to its surviving node; the lost node's drops lose their ``node`` and are
    placed anew on the nodes left.
    """
    deployed = plan.run | set(plan.carry)
    specs: list[DropSpec] = []
    for drop in graph:
        if drop.oid not in deployed:
            continue
        spec = dict(drop.spec)
        for key in _APP_LINKS if drop.is_app else _DATA_LINKS:
            entries = spec.get(key)
            if entries:
                spec[key] = [e for e in entries if _linked(e) in deployed]
        if drop.oid in plan.carry:
            spec["producers"] = []
            spec["node"] = plan.carry[drop.oid]
        elif home.get(drop.oid) is not None and home[drop.oid] not in lost:
            spec["node"] = home[drop.oid]
        else:
            spec.pop("node", None)
        specs.append(spec)
    return specs


def _linked(entry: object) -> str:
    """The oid a link entry names (a plain oid, or ``{oid: port}``)."""
    if isinstance(entry, dict):
        return str(next(iter(entry)))
    return str(entry)
