-- Lock a connection down: no file, ATTACH, COPY, EXPORT, extension or network access from now on, and no
-- SET/RESET/PRAGMA that could undo it (musim.sandbox).
SET enable_external_access = false;
SET lock_configuration = true;
