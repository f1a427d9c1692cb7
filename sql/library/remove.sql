-- Remove the library tracks $ids (a list of track ids) from the library, `preview` and `track`; artists left
-- without library tracks leave the library (their catalogue row stays: ids are never reused).
CREATE OR REPLACE TEMP TABLE lib_remove AS SELECT unnest($ids) AS track_id;
DELETE FROM track WHERE track_id IN (SELECT track_id FROM lib_remove) AND provider = 'library';
DELETE FROM preview WHERE track_id IN (SELECT track_id FROM lib_remove) AND provider = 'library';
DELETE FROM library_track WHERE track_id IN (SELECT track_id FROM lib_remove);
-- Their extracted features go with them (the features suite checks that every feature row has its track; the
-- content-addressed .npy objects stay, as other tracks of the same audio may use them), and the values they replaced
-- (feature_superseded, migration 033). The feature store's time-stamped values keep their history.
DELETE FROM track_mel WHERE track_id IN (SELECT track_id FROM lib_remove);
DELETE FROM track_descriptors WHERE track_id IN (SELECT track_id FROM lib_remove);
DELETE FROM feature_reject WHERE track_id IN (SELECT track_id FROM lib_remove);
DELETE FROM feature_superseded WHERE track_id IN (SELECT track_id FROM lib_remove);
DELETE FROM track_audio_history WHERE track_id IN (SELECT track_id FROM lib_remove);
-- A library spelling no track gives any more goes, unless it is all the artist has: a catalogue artist always
-- has a spelling (the artists quality suite checks it), so one known only from removed files keeps its names.
DELETE FROM artist_name_variant v
WHERE v.dump_id = 'library'
  AND NOT EXISTS (SELECT 1 FROM library_track t WHERE t.artist_id = v.artist_id AND t.artist_spelling = v.raw_name)
  AND (EXISTS (SELECT 1 FROM library_track t WHERE t.artist_id = v.artist_id)
       OR EXISTS (SELECT 1 FROM artist_name_variant o WHERE o.artist_id = v.artist_id AND o.dump_id <> 'library'));
DELETE FROM library_artist a WHERE NOT EXISTS (SELECT 1 FROM library_track t WHERE t.artist_id = a.artist_id);
