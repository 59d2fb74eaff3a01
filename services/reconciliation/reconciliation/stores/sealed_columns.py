"""Where reconciliation keeps values sealed with RECONCILIATION_DATA_KEY (`tuition reseal reconciliation`)."""

from shared.resealing import SealedColumn

SEALED_COLUMNS = (
    SealedColumn("webhook_configs", ("school_id", "provider"), "secret"),
    SealedColumn("webhook_configs", ("school_id", "provider"), "api_key"),
)
