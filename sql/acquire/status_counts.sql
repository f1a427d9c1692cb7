-- Catalogue artists (those with a catalogue rank) per acquisition status.
SELECT status, count(*) FROM acquire_artist WHERE catalogue_rank IS NOT NULL GROUP BY status;
