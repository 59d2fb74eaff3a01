-- Finding pupils as banks and parents write them (issue 30 §4): "duong dieu yen" finds Dương Diệu Yến. A
-- name folded once, when it is written: Vietnamese letters without their marks (đ as d), lower case, single
-- spaces. Names are stored NFC; the search text is normalised to NFC by the service before it is folded.
CREATE FUNCTION vn_fold(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN btrim(regexp_replace(lower(translate(t,
        'àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ',
        'aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyydaaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd')), '\s+', ' ', 'g'));

ALTER TABLE students ADD COLUMN search_name text GENERATED ALWAYS AS (vn_fold(full_name)) STORED;
