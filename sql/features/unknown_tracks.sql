-- The ids of $track_ids (musim features build --recompute) that name no track of the warehouse, in order.
SELECT list(DISTINCT id ORDER BY id) FROM unnest($track_ids::VARCHAR[]) AS u(id)
WHERE NOT EXISTS (SELECT 1 FROM track t WHERE t.track_id = u.id);
