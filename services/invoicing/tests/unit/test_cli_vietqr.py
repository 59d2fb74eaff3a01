import json

from suite.cli import main


def test_encode_then_decode_on_the_command_line(capsys):
    assert (
        main(
            [
                "vietqr",
                "encode",
                "--bin",
                "970436",
                "--account",
                "0011001234567",
                "--amount",
                "1250000",
                "--purpose",
                "HP3C4D6F7G9 T09 2026",
            ]
        )
        == 0
    )
    payload = capsys.readouterr().out.strip()
    assert main(["vietqr", "decode", payload]) == 0
    fields = json.loads(capsys.readouterr().out)
    assert fields == {
        "bin": "970436",
        "account": "0011001234567",
        "service": "QRIBFTTA",
        "amount": 1250000,
        "purpose": "HP3C4D6F7G9 T09 2026",
        "currency": "704",
        "country": "VN",
        "initiation": "dynamic",
        "unknown_tags": {},
    }


def test_decode_exits_non_zero_with_the_reason(capsys):
    assert main(["vietqr", "decode", "00020101021238570010A0000007276304ABCD"]) == 1
    assert "bad CRC" in capsys.readouterr().err
    assert main(["vietqr", "encode", "--bin", "97043", "--account", "1"]) == 1
    assert "6 digits" in capsys.readouterr().err
