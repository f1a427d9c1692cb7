-- The online vectors a snapshot's model versions were published with (its served_online table, written by
-- sql/serving/publish_extras.sql): the views (name:version) and their files, track and artist.
SELECT track_view, artist_view, track_online, artist_online FROM served_online ORDER BY model_version;
