-- The model versions a neighbours table holds, newest first when it records a time.
SELECT CAST({{model}} AS VARCHAR) AS model, count(*) AS n_rows, {{newest}} AS newest
FROM {{table}}
GROUP BY ALL
ORDER BY newest DESC NULLS LAST, model DESC
LIMIT 50;
