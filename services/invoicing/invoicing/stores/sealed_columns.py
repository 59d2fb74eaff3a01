"""Where invoicing keeps values sealed with INVOICING_DATA_KEY (`tuition reseal invoicing` walks them)."""

from shared.resealing import SealedColumn

SEALED_COLUMNS = (
    SealedColumn("students", ("student_id",), "national_id"),
    SealedColumn("students", ("student_id",), "guardian_phone"),
    SealedColumn("students", ("student_id",), "guardian_email"),
    SealedColumn("accounts", ("account_id",), "totp_secret"),
    SealedColumn("accounts", ("account_id",), "totp_pending"),
    SealedColumn("zalo_tokens", ("singleton",), "access_token"),
    SealedColumn("zalo_tokens", ("singleton",), "refresh_token"),
)
