-- Add $rows (a list of structs, one per row, named like the columns) to the staging table lib_artists.
INSERT INTO lib_artists BY NAME SELECT unnest($rows, recursive := true);
