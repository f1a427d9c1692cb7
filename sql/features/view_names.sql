-- The name of every registered feature view version.
SELECT name FROM feature_view;
