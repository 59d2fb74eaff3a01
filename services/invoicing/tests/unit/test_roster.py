import io
from datetime import date

import pytest

from devinfra.testing_files import SAMPLES
from invoicing.adapters.roster_files import RosterFileError, read_roster
from invoicing.domain.roster import fold, validate_row

SAMPLE = SAMPLES / "roster-mam-non.csv"
ALIASES = {
    fold(k): v
    for k, v in {
        "Con hộ nghèo": "HO_NGHEO",
        "Con hộ cận nghèo": "HO_CAN_NGHEO",
        "Mồ côi cả cha lẫn mẹ": "MO_COI",
        "Con thương binh": "CON_THUONG_BINH",
    }.items()
}
TODAY = date(2026, 11, 22)


def test_the_sample_kindergarten_roster_reads_and_validates_completely():
    rows = read_roster("roster-mam-non.csv", SAMPLE.read_bytes())
    assert [r.line for r in rows] == list(range(2, 14))
    students = [validate_row(r.line, r.values, policy_aliases=ALIASES, today=TODAY) for r in rows]
    assert all(not errors for _, errors in students)
    first = students[0][0]
    assert first.full_name == "Nguyễn Ngọc Bảo Anh" and first.class_name == "5A1" and first.grade == "Mẫu giáo lớn"
    assert first.date_of_birth == date(2019, 3, 14) and first.national_id == "022319004512"
    assert students[1][0].policy_categories == {"HO_NGHEO"}
    assert students[6][0].policy_categories == {"MO_COI"}


def _row(**changes):
    base = {
        "student_code": "2212345001",
        "full_name": "Nguyễn Ngọc Bảo Anh",
        "date_of_birth": "14/03/2019",
        "gender": "Nữ",
        "grade": "Mẫu giáo lớn",
        "class_name": "5A1",
        "national_id": "022319004512",
        "guardian_name": "Nguyễn Văn Hùng",
        "guardian_phone": "0912345678",
        "policy": "",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "column", "fragment"),
    [
        ({"national_id": "02231900451"}, "Mã định danh", "đúng 12 chữ số"),
        ({"national_id": "999319004512"}, "Mã định danh", "mã tỉnh 999"),
        ({"national_id": "022318004512"}, "Mã định danh", "hai số năm sinh 18"),
        ({"national_id": "022219004512"}, "Mã định danh", "số giới tính/thế kỷ 2"),
        ({"date_of_birth": "31/02/2019"}, "Ngày sinh", "dd/mm/yyyy"),
        ({"guardian_phone": "0212345678"}, "Số điện thoại", "di động"),
        ({"policy": "Con nhà giàu"}, "Đối tượng miễn giảm", "không có đối tượng miễn giảm"),
        ({"full_name": "  "}, "Họ và tên", "để trống"),
        ({"student_code": "A"}, "Mã học sinh", "3–20"),
    ],
)
def test_a_bad_row_names_its_line_column_and_what_is_wrong(changes, column, fragment):
    student, errors = validate_row(7, _row(**changes), policy_aliases=ALIASES, today=TODAY)
    assert student is None
    assert any(e.line == 7 and e.column == column and fragment in e.message for e in errors), errors


def test_a_pupil_without_a_personal_id_is_imported_and_one_with_a_wrong_id_is_not():
    student, errors = validate_row(3, _row(national_id=""), policy_aliases=ALIASES, today=TODAY)
    assert errors == [] and student.national_id == ""
    student, errors = validate_row(3, _row(national_id="   "), policy_aliases=ALIASES, today=TODAY)
    assert errors == [] and student.national_id == ""
    without_column = {k: v for k, v in _row().items() if k != "national_id"}
    assert validate_row(3, without_column, policy_aliases=ALIASES, today=TODAY)[1] == []
    _, errors = validate_row(3, _row(national_id="0223190045"), policy_aliases=ALIASES, today=TODAY)
    assert [e.column for e in errors] == ["Mã định danh"]


def test_phone_numbers_are_normalised():
    student, _ = validate_row(2, _row(guardian_phone="+84 912 345 678"), policy_aliases=ALIASES, today=TODAY)
    assert student.guardian_phone == "0912345678"


def test_a_file_without_the_required_columns_is_refused_whole():
    with pytest.raises(RosterFileError, match="thiếu cột: Ngày sinh; Lớp; Họ tên phụ huynh"):
        read_roster("x.csv", "Mã học sinh,Họ và tên\n1,A\n".encode())
    with pytest.raises(RosterFileError, match="Không tìm thấy dòng tiêu đề"):
        read_roster("x.csv", b"a,b\n1,2\n")
    with pytest.raises(RosterFileError, match="không ở dạng UTF-8"):
        read_roster("x.csv", b"M\xe3 h\xf4c sinh,H\xf4 t\xean\n")


def test_an_excel_roster_reads_like_the_csv(tmp_path):
    from openpyxl import Workbook

    rows = read_roster("r.csv", SAMPLE.read_bytes())
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "STT",
            "Mã học sinh",
            "Họ và tên",
            "Ngày sinh",
            "Giới tính",
            "Khối",
            "Lớp",
            "Mã định danh",
            "Họ tên cha/mẹ",
            "Số điện thoại",
            "Đối tượng miễn giảm",
        ]
    )
    ws.append(
        [
            1,
            "2212345001",
            "Nguyễn Ngọc Bảo Anh",
            date(2019, 3, 14),
            "Nữ",
            "Mẫu giáo lớn",
            "5A1",
            "022319004512",
            "Nguyễn Văn Hùng",
            "0912345678",
            None,
        ]
    )
    path = tmp_path / "r.xlsx"
    wb.save(path)
    xrows = read_roster("r.xlsx", path.read_bytes())
    assert xrows[0].line == 2
    assert {k: v for k, v in xrows[0].values.items() if k != "_row_number"} == {
        k: v for k, v in rows[0].values.items() if k != "_row_number"
    }


def test_the_family_key_is_a_keyed_hash_not_reversible_without_the_secret():
    import hashlib
    from datetime import date

    from invoicing.domain.roster import Student

    def pupil(phone: str) -> Student:
        return Student(
            student_code="1",
            full_name="A",
            date_of_birth=date(2020, 1, 1),
            gender=None,
            grade="1",
            class_name="1A",
            national_id="",
            guardian_name="B",
            guardian_phone=phone,
            policy_categories=frozenset(),
            virtual_account=None,
            left=False,
        )

    key = pupil("0912345678").family_key(b"secret-one")
    assert key == pupil("0912345678").family_key(b"secret-one")  # siblings share it
    assert key != pupil("0912345678").family_key(b"secret-two")
    assert key != pupil("0912345679").family_key(b"secret-one")
    # The old key, an unkeyed hash, could be found by hashing every phone number.
    assert key != hashlib.sha256(b"family:0912345678").hexdigest()[:20]


def test_a_personal_id_names_one_of_the_63_provinces_codes():
    from invoicing.domain.roster import PROVINCE_CODES

    assert len(PROVINCE_CODES) == 63 and {"001", "079", "096"} <= PROVINCE_CODES
    # 003 lies between Hà Giang (002) and Cao Bằng (004): no province has it.
    _, errors = validate_row(3, _row(national_id="003319004512"), policy_aliases=ALIASES, today=TODAY)
    assert [e.message for e in errors] == ["mã tỉnh 003 không phải mã của tỉnh nào (001 Hà Nội … 096 Cà Mau)"]


def test_the_sector_databases_export_with_title_rows_parents_and_no_grade_reads_as_a_roster():
    """Issue 30 §2: an XLSX as the sector database exports it: title rows above the table, the father's and the
    mother's names and phones, no grade column."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["PHÒNG GIÁO DỤC VÀ ĐÀO TẠO QUẬN CẦU GIẤY"])
    ws.append(["DANH SÁCH HỌC SINH NĂM HỌC 2026-2027"])
    ws.append([])
    ws.append(["STT", "Mã học sinh", "Mã định danh", "Họ và tên", "Ngày sinh", "Lớp", "Họ tên cha", "SĐT cha",
               "Họ tên mẹ", "SĐT mẹ"])  # fmt: skip
    ws.append([1, "HS0001", "001320012345", "Dương Diệu Yến", "05/03/2020", "1A1", "Dương Văn An", "0912345678",
               "Lê Thị Hoa", "0987654321"])  # fmt: skip
    ws.append([2, "HS0002", "", "Trần Minh Khôi", "11/11/2020", "1A2", "Trần Văn Bình", "0911111111", "", ""])
    ws.append([3, "HS0003", "", "Phạm Thu Hà", "01/01/2021", "Chồi 2", "Phạm Văn C", "12345", "Ngô Thị D", "099"])
    buf = io.BytesIO()
    wb.save(buf)
    rows = read_roster("danh-sach.xlsx", buf.getvalue())
    assert [r.line for r in rows] == [5, 6, 7]  # the lines of the sheet, below its titles
    yen, khoi, ha = (r.values for r in rows)
    assert (yen["guardian_name"], yen["guardian_phone"], yen["grade"]) == ("Lê Thị Hoa", "0987654321", "1")
    assert (khoi["guardian_name"], khoi["guardian_phone"], khoi["grade"]) == ("Trần Văn Bình", "0911111111", "1")
    # Neither parent has a mobile number: the row keeps the mother's, and is refused for it, naming the column.
    assert (ha["guardian_name"], ha["guardian_phone"], ha["grade"]) == ("Ngô Thị D", "099", "Chồi")
    student, errors = validate_row(7, ha, policy_aliases=ALIASES, today=TODAY)
    assert student is None and any("di động" in e.message for e in errors), errors
    student, errors = validate_row(5, yen, policy_aliases=ALIASES, today=TODAY)
    assert errors == [] and student.class_name == "1A1" and student.national_id == "001320012345"
