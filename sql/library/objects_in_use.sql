-- Which of the object keys $keys some track (of any provider) still points at.
SELECT object_key FROM track WHERE object_key IN (SELECT unnest($keys));
