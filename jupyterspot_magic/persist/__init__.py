"""Layer 2: boards kept on disk as they change, so nothing drawn is lost.

One SQLite file (``boards.sqlite`` in ``platformdirs.user_data_dir("jupyterspot-magic")``, or
``$JUPYTERSPOT_DATA_DIR``, or ``--store PATH``) holds:

- the boards' Yjs updates, in pycrdt-store's ``SQLiteYStore`` schema (tables ``yupdates`` and
  ``ycheckpoints``; a checkpoint every 100 writes keeps loading fast), one document per
  ``"<notebook key>#<generation>"``;
- a ``jupyterspot_shares`` table: per notebook key, the room id, both tokens and the current
  generation, so sharing the same notebook again gives the same links, and ``clear`` / ``--fresh``
  start a new generation while the old board stays in the file (history).

The notebook key is its absolute path (Colab: ``colab:<notebook name>``).

Writing never blocks the share server: the server thread only appends each update the board
integrated to a list; a dedicated store thread (its own asyncio loop, so a restart of the server
loop cannot break it) merges what came in every ``FLUSH_INTERVAL`` (200 ms) into one update and
writes it in one transaction (SQLite in WAL mode). ``stop()`` and interpreter exit flush.
A crash loses at most the last flush window (~200 ms of drawing).

The modules, from the share down to the file:

- ``keeper.py``: ``BoardKeeper``, one share's persistence (its record, restoring its board,
  clear, close); which file (``resolve_path``) and which notebook (``notebook_key``);
- ``persister.py``: ``Persister``, one document's updates batched into coalesced writes;
- ``sqlite.py``: ``Store``, the SQLite file and its thread (writes, checkpoints, records, checks
  and repairs of a damaged file);
- ``replay.py``: reading stored updates defensively, row by row;
- ``pending.py``: the ``.yupdate`` files a stop that could not write leaves for the next share.

Faults (issue 11): rows are written with our own ``sqlite3`` connection in that schema, because
pycrdt-store's writer logs and *discards* SQLite errors (a full disk lost drawings silently).
The board is restored row by row: an unreadable row, or one the board schema rejects, is skipped
and counted, the hole it leaves in its client's clock range is filled with a GC struct (else yjs
clients would hold every later change of that client back as "missing"), and the user is told. A
damaged file is copied aside, repaired (``REINDEX``, else its readable rows copied into a new file)
and the user is told. A stop that cannot write leaves the pending updates in a ``.yupdate`` file
beside the store (or in the temp dir) that the next share of the notebook applies.
"""
