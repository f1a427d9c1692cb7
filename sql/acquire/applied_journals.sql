-- Which of the journals $keys (object keys) were applied already.
SELECT journal_key FROM acquire_journal WHERE journal_key IN (SELECT unnest($keys));
