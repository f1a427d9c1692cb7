-- How many tracks the catalogue held at $as_of (added at or before it; every track when $as_of is NULL), rejected or not.
SELECT count(*) FROM track WHERE $as_of::TIMESTAMPTZ IS NULL OR added_at <= $as_of::TIMESTAMPTZ;
