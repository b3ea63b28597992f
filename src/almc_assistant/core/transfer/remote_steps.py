"""The remote side of one file's copy, after its bytes are sent: prove, publish, adopt.

Thread contract: pure steps on one target, callable from any worker (the backend is
shared, the stream belongs to the caller). Used by the one per-file pipeline for streamed
and grouped files alike (:mod:`pipeline`, :mod:`streamed`, :mod:`grouped`), as
:mod:`landing` is for local targets.

- :func:`prove_upload`: finish the upload and have the backend prove the stored partial
  (a hash its server computed, or a download back); unproven: the partial is removed.
- :func:`publish_proven`: give the proven partial its final name without replacing; a
  name taken meanwhile is settled by proof (same bytes: adopted) or is ``Differs``.
- :func:`adopt_remote`: a same-size file already at the name counts only if proven.
"""

from __future__ import annotations

import time
from pathlib import Path

from almc_assistant.core.destination_backend import SourceDigests
from almc_assistant.core.errors import AlmcError
from almc_assistant.core.transfer.landing import Differs, Result, Verified
from almc_assistant.core.transfer.remote_dest import (
    RemoteDestination,
    RemoteStream,
    proof_words,
    remote_mismatch,
)


def prove_upload(stream: RemoteStream, digests: SourceDigests, source: Path) -> Result:
    """Finish ``stream`` and prove what the server stored; the partial is removed unless
    the result is ``Verified``."""
    dest = stream.dest
    try:
        stream.finish()
        proof = dest.prove(stream.upload.partial, digests)
    except (AlmcError, OSError) as exc:
        stream.discard()
        return dest.error(exc, action="upload", source=source)
    if not proof.verified:
        stream.discard()
        return remote_mismatch(source, dest, proof)
    return Verified(
        digests.blake3, time.time(), adopted=False, read_back=proof_words(proof), proof=proof
    )


def publish_proven(
    stream: RemoteStream, digests: SourceDigests, result: Result, source: Path
) -> Result:
    """Give a proven remote copy its final name and record it, or settle with the file
    found there."""
    if not isinstance(result, Verified):
        return result
    dest, relpath = stream.dest, stream.upload.relpath
    try:
        if stream.publish():
            dest.manifest.record(relpath, result.digest)
            return result
        stream.discard()
    except (AlmcError, OSError) as exc:
        return dest.error(exc, action="publish the proven copy", source=source)
    return adopt_remote(dest, relpath, digests, source)


def adopt_remote(
    dest: RemoteDestination, relpath: str, digests: SourceDigests, source: Path
) -> Result:
    """The file at ``relpath`` counts as the copy only if the backend proves it holds
    the source's bytes (``Differs`` otherwise)."""
    try:
        already = dest.manifest.lookup(relpath) == digests.blake3
        proof = dest.settle(relpath, digests)
    except (AlmcError, OSError) as exc:
        return dest.error(exc, action="check the file there", source=source)
    if proof is None:
        return Differs()
    return Verified(
        digests.blake3,
        time.time(),
        adopted=True,
        already=already,
        read_back=proof_words(proof),
        proof=proof,
    )
