-- Run last in the ingest transaction, after the plays/events and profiles loads. The users and artists
-- tables carry no key index (sql/migrations/009_bulk_load_tables.sql): the loads write unique keys by
-- construction, and this checks them before anything commits.
SELECT CASE WHEN (SELECT count(*) > count(DISTINCT user_key) FROM lastfm_user)
              OR (SELECT count(*) > count(DISTINCT artist_key) FROM artist)
            THEN error('a user or artist key is now stored twice: ingest stopped, nothing stored. This is a musim bug: please report it with the dump.')
       END;
