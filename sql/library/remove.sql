-- Remove the library tracks $ids (a list of track ids) from the library, `preview` and `track`; artists left
-- without library tracks leave the library (their catalogue row stays: ids are never reused).
CREATE OR REPLACE TEMP TABLE lib_remove AS SELECT unnest($ids) AS track_id;
DELETE FROM track WHERE track_id IN (SELECT track_id FROM lib_remove) AND provider = 'library';
DELETE FROM preview WHERE track_id IN (SELECT track_id FROM lib_remove) AND provider = 'library';
DELETE FROM library_track WHERE track_id IN (SELECT track_id FROM lib_remove);
DELETE FROM artist_name_variant v
WHERE v.dump_id = 'library'
  AND NOT EXISTS (SELECT 1 FROM library_track t WHERE t.artist_id = v.artist_id AND t.artist_spelling = v.raw_name);
DELETE FROM library_artist a WHERE NOT EXISTS (SELECT 1 FROM library_track t WHERE t.name_key = a.name_key);
