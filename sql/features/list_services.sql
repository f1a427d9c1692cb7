-- Every registered feature service with its views as 'name:version' strings, in position order.
SELECT s.name, s.model_version, s.as_of, s.description, s.created_at,
       list(v.view_name || ':' || v.view_version ORDER BY v.position) AS views
FROM feature_service s JOIN feature_service_view v ON v.service = s.name
GROUP BY ALL ORDER BY s.name;
