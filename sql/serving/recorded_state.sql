-- The served_state a snapshot recorded when it was published (none in snapshots published before it was kept).
SELECT part, item, detail FROM served_state ORDER BY part, item, detail;
