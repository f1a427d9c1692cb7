-- The landed files not taken by the scan that were reported already.
SELECT location FROM landing_unrecognised;
