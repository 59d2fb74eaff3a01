"""Vietnamese banks on the NAPAS 247 network, by their 6-digit BIN (the VietQR bank identifier)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

BANKS: dict[str, str] = {
    "970400": "Saigonbank",
    "970403": "Sacombank",
    "970405": "Agribank",
    "970406": "DongA Bank",
    "970407": "Techcombank",
    "970408": "GPBank",
    "970409": "Bac A Bank",
    "970410": "Standard Chartered",
    "970412": "PVcomBank",
    "970414": "OceanBank",
    "970415": "VietinBank",
    "970416": "ACB",
    "970418": "BIDV",
    "970419": "NCB",
    "970421": "VRB",
    "970422": "MB Bank",
    "970423": "TPBank",
    "970424": "Shinhan Bank",
    "970425": "ABBank",
    "970426": "MSB",
    "970427": "VietABank",
    "970428": "Nam A Bank",
    "970429": "SCB",
    "970430": "PGBank",
    "970431": "Eximbank",
    "970432": "VPBank",
    "970433": "Vietbank",
    "970434": "Indovina Bank",
    "970436": "Vietcombank",
    "970437": "HDBank",
    "970438": "BaoViet Bank",
    "970439": "Public Bank Vietnam",
    "970440": "SeABank",
    "970441": "VIB",
    "970442": "Hong Leong Bank",
    "970443": "SHB",
    "970444": "CBBank",
    "970446": "Co-opBank",
    "970448": "OCB",
    "970449": "LPBank",
    "970452": "KienlongBank",
    "970454": "Ban Viet (BVBank)",
    "970455": "IBK Ha Noi",
    "970456": "IBK HCM",
    "970457": "Woori Bank",
    "970458": "UOB",
    "970462": "Kookmin Bank HN",
    "970463": "Kookmin Bank HCM",
}


# VietQR's short code of each bank (the `@bank` of a deep link's account), for the banks whose apps open a
# transfer filled in from a link.
SHORT_CODES: dict[str, str] = {
    "970436": "vcb", "970415": "icb", "970418": "bidv", "970422": "mb", "970416": "acb", "970407": "tcb",
    "970432": "vpb", "970423": "tpb", "970448": "ocb", "970405": "vba", "970403": "stb", "970426": "msb",
    "970443": "shb", "970437": "hdb", "970441": "vib", "970431": "eib", "970440": "seab", "970449": "lpb",
}  # fmt: skip
# The banking apps that fill the transfer in from VietQR's deep link (vietqr.io/deeplink): app id → name.
AUTOFILL_APPS = {
    "mb": "MB Bank",
    "icb": "VietinBank iPay",
    "bidv": "BIDV SmartBanking",
    "acb": "ACB ONE",
    "ocb": "OCB OMNI",
}


def deep_links(bin_: str, account: str, amount: int, memo: str, name: str) -> list[tuple[str, str]]:
    """(app, link) that open each banking app with the transfer filled in: VietQR's deep link,
    `https://dl.vietqr.io/pay?app=…&am=…&tn=…&ba={account}@{bank}&bn=…` (the `@` kept as it is)."""
    bank = SHORT_CODES.get(bin_)
    if bank is None:
        return []
    rest = urlencode({"am": str(amount), "tn": memo, "bn": name})
    return [
        (label, f"https://dl.vietqr.io/pay?app={app}&ba={account}@{bank}&{rest}")
        for app, label in AUTOFILL_APPS.items()
    ]


class BankAccountError(ValueError):
    pass


def bank_name(bin_: str) -> str | None:
    return BANKS.get(bin_)


def validate_account(bin_: str, account_number: str, account_name: str) -> tuple[str, str, str]:
    """The account, normalised, or BankAccountError naming what is wrong."""
    bin_ = bin_.strip()
    account_number = re.sub(r"[\s.-]", "", account_number)
    account_name = " ".join(account_name.split())
    if bin_ not in BANKS:
        raise BankAccountError(f"Mã ngân hàng (BIN) {bin_!r} không phải ngân hàng Việt Nam trong NAPAS 247.")
    if not re.fullmatch(r"\d{6,19}", account_number):
        raise BankAccountError(f"Số tài khoản phải gồm 6 đến 19 chữ số (nhận được {account_number!r}).")
    if not account_name:
        raise BankAccountError("Cần tên chủ tài khoản.")
    return bin_, account_number, account_name
