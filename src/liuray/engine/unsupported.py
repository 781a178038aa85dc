# SPDX-License-Identifier: LGPL-2.1-or-later
"""DALiuGE 6.6.0 classes liuray refuses, each with the reason and what to do instead.

Two kinds of class end here, and a graph naming one is refused when it is appended (a
400 on the wire), before anything is deployed:

* classes that need something outside a liuray node: a service (NGAS, S3, a database,
  a remote host, Docker, MPI), the network (liuray's engine does no network I/O), or
  DALiuGE's own C interface and in-app deployments;
* base classes that DALiuGE 6.6.0 cannot deploy or run either (abstract, or missing the
  method a subclass must provide).

Every reason says what the class needs and the nearest thing that runs on liuray.
``tests/engine/test_components.py`` checks that each DALiuGE class is either here or
implemented; docs/compatibility.md is the table for people.

>>> UNSUPPORTED["dlg.data.drops.NgasDROP"] == UNSUPPORTED["dlg.data.drops.ngas.NgasDROP"]
True
"""

from __future__ import annotations

_BASH = "dlg.apps.bash_shell_app.BashShellApp"

_NGAS = (
    "it stores its data in an NGAS archive server (ngasSrv, ngasPort), and liuray has no "
    f"NGAS client; write a dlg.data.drops.file.FileDROP and archive it with a {_BASH} "
    "(curl to the server's ARCHIVE command)"
)
_S3 = (
    "it keeps its data in an S3 bucket reached through boto3 and an S3 endpoint, and "
    "liuray's engine does no network I/O; write a dlg.data.drops.file.FileDROP and copy "
    f"it with a {_BASH} ('aws s3 cp') or a dlg.apps.pyfunc.PyFuncApp using boto3"
)
_RDBMS = (
    "it reads and writes a table of a relational database through the DB-API module its "
    "dbparams name, and liuray has no database drops; query the database from a "
    "dlg.apps.pyfunc.PyFuncApp (sqlite3, psycopg...) and pass the rows on in a memory or "
    "file drop"
)
_DATA_BASE = (
    "it is the abstract base of DALiuGE's data drops (DALiuGE cannot instantiate it "
    "either); use dlg.data.drops.memory.InMemoryDROP or dlg.data.drops.file.FileDROP"
)
_DYNLIB = (
    "it loads a C shared library written against DALiuGE's dlg_app.h interface (init and "
    "run callbacks over DALiuGE's input/output structures), which liuray does not "
    f"implement; build the code as a program and run it with a {_BASH}, or call the "
    "library through ctypes from a dlg.apps.pyfunc.PyFuncApp"
)
_SOCKET = (
    "it listens on a TCP socket for data sent from outside the graph, and liuray's engine "
    "opens no sockets; put the data in a dlg.data.drops.file.FileDROP, or receive it "
    f"with a {_BASH} ('nc -l PORT > %o[...]')"
)

UNSUPPORTED: dict[str, str] = {
    # ------------------------------------------------ needs something outside liuray
    "dlg.data.drops.ngas.NgasDROP": _NGAS,
    "dlg.data.drops.NgasDROP": _NGAS,
    "dlg.data.drops.s3_drop.S3DROP": _S3,
    "dlg.data.drops.S3DROP": _S3,
    "dlg.data.drops.rdbms.RDBMSDrop": _RDBMS,
    "dlg.data.drops.RDBMSDrop": _RDBMS,
    "dlg.apps.simple.UrlRetrieveApp": (
        "it downloads a URL over HTTP (requests), and liuray's engine does no network "
        f"I/O; download it with a {_BASH} ('curl -o %o[...] URL') or a "
        "dlg.apps.pyfunc.PyFuncApp calling urllib.request"
    ),
    "dlg.apps.socket_listener.SocketListenerApp": _SOCKET,
    "dlg.apps.socket_listener.SocketListener": _SOCKET,
    "dlg.apps.scp.ScpApp": (
        "it copies its input to or from another host with scp (a remote host and ssh "
        f"keys); run 'scp' in a {_BASH} on a node that can reach the host"
    ),
    "dlg.apps.archiving.NgasArchivingApp": (
        "it archives its input into an NGAS server (ngasSrv, ngasPort), and liuray has no "
        f"NGAS client; archive the file with a {_BASH} (curl to the server's ARCHIVE "
        "command)"
    ),
    "dlg.apps.dockerapp.DockerApp": (
        "it runs its command in a Docker container (an image and a Docker daemon on the "
        f"node), and liuray does not start containers; run 'docker run ...' in a {_BASH} "
        "on nodes that have Docker"
    ),
    "dlg.apps.mpi.MPIApp": (
        "it launches an MPI job (mpirun over the node's MPI installation, maxprocs "
        f"ranks), and liuray does not launch MPI jobs; run 'mpirun ...' in a {_BASH} on "
        "nodes that have MPI"
    ),
    "dlg.apps.dynlib.DynlibApp": _DYNLIB,
    "dlg.apps.dynlib.DynlibStreamApp": _DYNLIB,
    "dlg.apps.dynlib.DynlibProcApp": _DYNLIB,
    # ------------------------------------------------ bases DALiuGE cannot run either
    "dlg.apps.app_base.AppDROP": (
        "it is the abstract base of DALiuGE's apps (DALiuGE 6.6.0 cannot execute it "
        "either); subclass liuray's AppDrop in your own module and name that class, or "
        "use dlg.apps.pyfunc.PyFuncApp"
    ),
    "dlg.apps.app_base.InputFiredAppDROP": (
        "it is a base class with no run() that DALiuGE 6.6.0 refuses without "
        "n_effective_inputs; use dlg.apps.simple.NullBarrierApp to join branches, or "
        "your own app class"
    ),
    "dlg.apps.branch.BranchAppDrop": (
        "it is the base of DALiuGE's branches and has no condition(), so DALiuGE 6.6.0 "
        "fails it and leaves both branches unsettled; use dlg.apps.simple.SimpleBranch (a "
        "fixed result) or dlg.apps.simple.Branch (a Python function decides)"
    ),
    "dlg.apps.archiving.ExternalStoreApp": (
        "it is the abstract base of archiving apps (no store(); DALiuGE 6.6.0 cannot run "
        f"it either); copy the data where it belongs with a {_BASH}"
    ),
    "dlg.data.drops.data_base.DataDROP": _DATA_BASE,
    "dlg.data.drops.DataDROP": _DATA_BASE,
    "dlg.data.drops.container.ContainerDROP": (
        "it holds child drops and no data of its own (reading or writing it fails in "
        "DALiuGE 6.6.0), and liuray has no container links; use a "
        "dlg.data.drops.directory.DirectoryDROP or separate data drops"
    ),
}

_PLASMA = (
    "it passes data through Apache Arrow's Plasma object store (pyarrow.plasma, a store "
    "server started beside the graph), which pyarrow removed in version 12 (2023); "
    "DALiuGE 6.6.0 no longer ships its Plasma drops and apps either. Pass the data in a "
    "dlg.data.drops.memory.InMemoryDROP or a dlg.data.drops.file.FileDROP (a "
    "MeasurementSet in a dlg.data.drops.directory.DirectoryDROP), or stream it between "
    "apps over a streaming link"
)

#: classes that older graphs name but DALiuGE itself removed before 6.6.0 -> the reason
#: (kept apart from UNSUPPORTED, which names 6.6.0's own classes only)
REMOVED: dict[str, str] = {
    "dlg.apps.plasma.MSPlasmaReader": _PLASMA,
    "dlg.apps.plasma.MSPlasmaWriter": _PLASMA,
    "dlg.apps.plasma.MSStreamingPlasmaConsumer": _PLASMA,
    "dlg.apps.plasma.MSStreamingPlasmaProducer": _PLASMA,
    "dlg.data.drops.plasma.PlasmaDROP": _PLASMA,
    "dlg.data.drops.plasma.PlasmaFlightDROP": _PLASMA,
}

#: EAGLE app categories whose nodes DALiuGE's translator leaves without a dropclass (an
#: ``Mpi`` node unrolls into one drop per rank, dropclass empty), lower-cased -> the
#: class whose reason applies.
UNSUPPORTED_CATEGORIES = {"mpi": "dlg.apps.mpi.MPIApp"}
