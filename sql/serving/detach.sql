-- Detach the new snapshot `snap` (its file is complete once detached).
DETACH snap;
