-- When a scan (`musim library add`, the hourly `library_scan` of the landing folder) first found a library track's file
-- gone: set once, when it goes, and cleared when its file is found again (at its path, or moved). A track whose file
-- is gone is reported as newly gone by that one scan; the later ones count it among those gone in all (a drop folder
-- emptied after each scan would report every track it ever held, every hour). NULL: not known gone (rows from before
-- this migration: their next scan reports them once more).
ALTER TABLE library_track ADD COLUMN gone_at TIMESTAMPTZ;
