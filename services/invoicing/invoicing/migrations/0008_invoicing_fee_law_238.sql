-- Fee law as of school year 2025-2026 (Decree 238/2025/NĐ-CP of 3 September 2025, replacing Decrees
-- 81/2021 and 97/2023; National Assembly Resolution 217/2025/QH15 of 26 June 2025), as dated data.
--
-- A rule can now apply to every pupil of a school (not only to a policy category), only to public or only
-- to private schools, and can be capped (support up to an amount). Each rule cites its article. A change of
-- the law is a new rule with its own effective date: the latest rule in force for the same category, fee,
-- scope and ownership replaces the earlier one from that date; nothing is edited.
ALTER TABLE exemption_policies
    ADD COLUMN everyone   boolean NOT NULL DEFAULT false,
    ADD COLUMN ownership  text CHECK (ownership IN ('public', 'private')),
    ADD COLUMN cap        bigint CHECK (cap IS NULL OR cap >= 0),
    ADD COLUMN article    text NOT NULL DEFAULT '';

INSERT INTO policy_categories (code, name, aliases, legal_basis) VALUES
 ('STATE_FUNDED', 'Miễn học phí: trẻ em, học sinh cơ sở giáo dục công lập', '{}',
  'Nghị quyết 217/2025/QH15; Nghị định 238/2025/NĐ-CP'),
 ('STATE_SUPPORT', 'Hỗ trợ học phí: trẻ em, học sinh cơ sở dân lập, tư thục', '{}',
  'Nghị quyết 217/2025/QH15; Nghị định 238/2025/NĐ-CP')
ON CONFLICT (code) DO NOTHING;

-- Public preschool and general-education tuition: exempt for every pupil from school year 2025-2026.
INSERT INTO exemption_policies (category, fee_category, kind, value, effective_from, legal_basis, everyone,
                                ownership, article) VALUES
 ('STATE_FUNDED', 'tuition', 'percent', 100, '2025-09-01',
  'Nghị quyết 217/2025/QH15; Nghị định 238/2025/NĐ-CP', true, 'public',
  'NĐ 238/2025/NĐ-CP, Điều 15 khoản 1 (miễn học phí trẻ em mầm non, học sinh phổ thông công lập)');

-- The categories' rules already in force keep their values; they now cite their article.
UPDATE exemption_policies SET article = 'NĐ 238/2025/NĐ-CP, Điều 15 (đối tượng được miễn học phí)'
 WHERE school_id IS NULL AND category IN ('HO_NGHEO', 'MO_COI', 'KHUYET_TAT', 'CON_NGUOI_CO_CONG') AND article = '';
UPDATE exemption_policies SET article = 'NĐ 238/2025/NĐ-CP, Điều 16 (đối tượng được giảm học phí)'
 WHERE school_id IS NULL AND category IN ('DTTS_VUNG_KHO_KHAN', 'HO_CAN_NGHEO', 'CON_CN_TAI_NAN') AND article = '';
