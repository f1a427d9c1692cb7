-- musim's SQL functions, installed on every connection (musim.sql.install_macros: the warehouse's, read-only
-- readers', sandboxes' and snapshot cursors'), as TEMP macros: kept in the connection, never written into the
-- warehouse or a snapshot file (a read-only file could not take them). So no stored view or migration may name
-- one: it could not be read where the macro is not installed (`duckdb FILE`, an older musim).
--
-- name_norm(text): a name or title as the warehouse compares it, musim.names.name_norm's rule (artist.name_norm,
-- as Last.FM ingest computes it): NFC, lower case, whitespace trimmed and each run of it one space. Whitespace is
-- every character Python's str.isspace() takes: ASCII's, the C0 separators \x0b and \x1c-\x1f, the C1 NEL, the
-- Unicode spaces (no-break, en/em..., ideographic) and the line and paragraph separators (RE2's \s is ASCII
-- only). Zero-width U+200B and the other format characters are not whitespace (neither trim() nor Python strips
-- them): kept, as the name's own text. Migration 023 spells the same expression out (applied migrations stay as
-- they ran); tests/test_sql.py checks this macro against it and against musim.names.name_norm.
CREATE OR REPLACE TEMP MACRO name_norm(text) AS
    lower(nfc_normalize(trim(regexp_replace(text, '[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Zs}\x{2028}\x{2029}]+', ' ', 'g'))));
