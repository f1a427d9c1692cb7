-- Add $rows (a list of structs, one per row, named like the columns) to the staging table lib_moved.
INSERT INTO lib_moved BY NAME SELECT unnest($rows, recursive := true);
