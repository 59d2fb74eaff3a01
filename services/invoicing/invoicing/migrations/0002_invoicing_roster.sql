-- Policy categories of exemption/reduction (Decree 238/2025/ND-CP, which replaced Decree 81/2021),
-- with the names schools' software writes in the roster's "Đối tượng miễn giảm" column.
CREATE TABLE policy_categories (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    aliases     text[] NOT NULL DEFAULT '{}',   -- folded (no diacritics, lower case)
    legal_basis text NOT NULL DEFAULT ''
);

INSERT INTO policy_categories (code, name, aliases, legal_basis) VALUES
 ('HO_NGHEO', 'Con hộ nghèo', '{"con ho ngheo","ho ngheo"}', 'Nghị định 238/2025/NĐ-CP'),
 ('HO_CAN_NGHEO', 'Con hộ cận nghèo', '{"con ho can ngheo","ho can ngheo"}', 'Nghị định 238/2025/NĐ-CP'),
 ('MO_COI', 'Mồ côi cả cha lẫn mẹ', '{"mo coi ca cha lan me","mo coi","mo coi cha me"}', 'Nghị định 238/2025/NĐ-CP'),
 ('KHUYET_TAT', 'Trẻ em/học sinh khuyết tật', '{"khuyet tat","tre khuyet tat","hoc sinh khuyet tat"}', 'Nghị định 238/2025/NĐ-CP'),
 ('CON_NGUOI_CO_CONG', 'Con người có công với cách mạng', '{"con nguoi co cong","con thuong binh","con liet si","con benh binh"}', 'Nghị định 238/2025/NĐ-CP'),
 ('DTTS_VUNG_KHO_KHAN', 'Dân tộc thiểu số ở vùng đặc biệt khó khăn', '{"dan toc thieu so vung dac biet kho khan","dtts vung kho khan","dan toc thieu so"}', 'Nghị định 238/2025/NĐ-CP'),
 ('CON_CN_TAI_NAN', 'Con của người lao động bị tai nạn lao động, bệnh nghề nghiệp', '{"con cong nhan tai nan lao dong","tai nan lao dong"}', 'Nghị định 238/2025/NĐ-CP');

-- Exemptions and reductions. school_id NULL: the national rule for every school; otherwise a school's own.
CREATE TABLE exemption_policies (
    policy_id      bigserial PRIMARY KEY,
    school_id      text REFERENCES schools,
    category       text NOT NULL REFERENCES policy_categories,
    fee_category   text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value          bigint NOT NULL CHECK (value >= 0),
    effective_from date NOT NULL,
    effective_to   date,
    legal_basis    text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'percent' OR value <= 100),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

-- Tuition exemption/reduction by category from school year 2025–2026 (private schools still charge tuition;
-- public tuition is state-funded for everyone). Edit or end-date these rows when the rules change.
INSERT INTO exemption_policies (category, fee_category, kind, value, effective_from, legal_basis) VALUES
 ('HO_NGHEO', 'tuition', 'percent', 100, '2025-09-01', 'Nghị định 238/2025/NĐ-CP'),
 ('MO_COI', 'tuition', 'percent', 100, '2025-09-01', 'Nghị định 238/2025/NĐ-CP'),
 ('KHUYET_TAT', 'tuition', 'percent', 100, '2025-09-01', 'Nghị định 238/2025/NĐ-CP'),
 ('CON_NGUOI_CO_CONG', 'tuition', 'percent', 100, '2025-09-01', 'Nghị định 238/2025/NĐ-CP'),
 ('DTTS_VUNG_KHO_KHAN', 'tuition', 'percent', 70, '2025-09-01', 'Nghị định 238/2025/NĐ-CP'),
 ('HO_CAN_NGHEO', 'tuition', 'percent', 50, '2025-09-01', 'Nghị định 238/2025/NĐ-CP'),
 ('CON_CN_TAI_NAN', 'tuition', 'percent', 50, '2025-09-01', 'Nghị định 238/2025/NĐ-CP');

CREATE TABLE students (
    student_id        uuid PRIMARY KEY,
    school_id         text NOT NULL REFERENCES schools,
    student_code      text NOT NULL,
    full_name         text NOT NULL,
    date_of_birth     date NOT NULL,
    gender            text,
    grade             text NOT NULL,
    class_name        text NOT NULL,
    national_id       text NOT NULL,
    guardian_name     text NOT NULL,
    guardian_phone    text NOT NULL,
    family_key        text NOT NULL,
    virtual_account   text,
    policy_categories text[] NOT NULL DEFAULT '{}',
    left_at           timestamptz,   -- students who left are marked, never deleted
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, student_code)
);
CREATE INDEX students_family ON students (family_key);

-- Every roster import, applied or not: who, when, what changed, what was wrong.
CREATE TABLE roster_imports (
    import_id    uuid PRIMARY KEY,
    school_id    text NOT NULL REFERENCES schools,
    filename     text NOT NULL,
    mode         text NOT NULL,
    applied      boolean NOT NULL,
    summary      jsonb NOT NULL,
    errors       jsonb NOT NULL,
    imported_by  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
