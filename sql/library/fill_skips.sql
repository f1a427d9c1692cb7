-- Add $rows (a list of structs, one per row, named like the columns) to the staging table lib_skips.
INSERT INTO lib_skips BY NAME SELECT unnest($rows, recursive := true);
