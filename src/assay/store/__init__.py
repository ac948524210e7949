"""Storage of governed state. So far: the audit ledger's hash chain and signed checkpoints (:mod:`.ledger`),
which work on events in memory or exported to files; the database tables come with the governance store."""

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
