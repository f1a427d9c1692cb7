-- A derived value (an artist's mean of its tracks' descriptors) can end: when none of the artist's tracks has a current
-- value any more (their new audio was rejected, they were taken out), the materialisation writes a row with a NULL
-- vec at its moment. Readers take an entity's latest row (sql/features/latest.sql, pit.sql): a NULL one means no
-- value from then on, as a rejection does for a track; a training set pinned before it still gets the old value.
ALTER TABLE feature_value ALTER COLUMN vec DROP NOT NULL;
