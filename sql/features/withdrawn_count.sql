-- How many materialisations the last withdraw_derived.sql removed (one per derived view).
SELECT count(*) FROM fs_withdrawn;
