"""Remote destinations through rclone: SFTP, SMB, S3, WebDAV, Google Drive, OneDrive.

Thread contract: see each module; a :class:`~almc_assistant.core.remote.rcd.RcDaemon`
and the backends built on it are shared by workers, uploads are not.

Why here (``core.remote``) and not ``core.transfer.remote``: the backend depends on no
part of the copy engine, and the seam between them is one Protocol
(:mod:`almc_assistant.core.destination_backend`) that both sides import. ``core.transfer``
opens remotes through :mod:`session` (imported when a job has remote destinations) and
the digests of its read pass from :mod:`digests`; this package imports only the
manifest's line format and record names from it.

Why one rclone server (``rclone rcd``) rather than a process per file: see
:mod:`~almc_assistant.core.remote.rcd` (connections and listings stay warm across
thousands of files; uploads stream our single read; loopback only, random credentials
per run given through the environment, stopped with the app).

Modules: ``rclonebin`` (the pinned binary, checked by hash), ``rcd`` (the daemon),
``spec`` (``name:path`` and the private rclone.conf), ``upload`` (one streaming upload
to a partial name), ``proof`` and ``probe`` (what each backend can prove, tried once on a
probe file), ``bulkhash`` (an SFTP server's hashes of many files in one command),
``rclone_backend`` (the ``DestinationBackend``), ``digests`` and ``quickxor`` (hashes of
the single read pass), ``session`` (the daemon of a service, shared by its jobs and
verifies, and opening remotes on it), ``signin`` (browser sign-in and sign-out),
``faults`` (messages). The per-file pipeline itself is the copy engine's
(``core.transfer.pipeline``, remote targets through ``core.transfer.remote_dest``).
"""
