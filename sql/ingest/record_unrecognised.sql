-- Remember the landed files $locations as reported (not taken by the scan); forget those reported before that are
-- $gone from the landing area.
DELETE FROM landing_unrecognised WHERE list_contains($gone, location);
INSERT INTO landing_unrecognised (location) SELECT unnest($locations) ON CONFLICT DO NOTHING;
