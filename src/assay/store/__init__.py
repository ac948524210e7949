"""Storage of governed state: the governance database (:mod:`.database`, :mod:`.models`, migrations), the
content-addressed artifacts, and the audit ledger. :mod:`.ledger` holds the ledger's integrity rules (hash chain,
signed checkpoints, export), which work on events in memory or in files; :mod:`.audit` keeps the ledger in the
database."""

from assay.store.ledger import (
    Checkpoint,
    Event,
    Verification,
    append_event,
    canonical_json,
    generate_signing_key,
    key_id,
    load_private_key,
    load_public_key,
    read_export,
    sign_checkpoint,
    verify_chain,
    write_export,
)

__all__ = [
    "Checkpoint",
    "Event",
    "Verification",
    "append_event",
    "canonical_json",
    "generate_signing_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "read_export",
    "sign_checkpoint",
    "verify_chain",
    "write_export",
]
