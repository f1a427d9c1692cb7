-- Add $rows (a list of structs, one per row, named like the columns) to the staging table lib_tracks.
INSERT INTO lib_tracks BY NAME SELECT unnest($rows, recursive := true);
