-- Add $rows (a non-empty list of structs, one per row, named like the columns) to the staging table {{table}}.
INSERT INTO {{table}} BY NAME SELECT unnest($rows, recursive := true);
