-- A feature build's heartbeat: a build killed half-way (a killed CLI process, a DAG run whose tasks died or were
-- cleared) never closes its row, which stayed 'running' forever. Every step of a build now beats: planning, each
-- recorded batch, a build working between batches (at least once a minute) and closing the run set heartbeat_at.
-- The DAG's compute tasks never open the warehouse (one writer): they beat in the object store, at heartbeat_key
-- (NULL for a build that beats only here). Readers (`musim features list/show`) show a 'running' build whose last
-- heartbeat, here or there, is older than MUSIM_FEATURE_BUILD_TIMEOUT_S as 'interrupted'; the stored status stays
-- what the build itself wrote, so a build that was only slow (a DAG run waiting for the writer's slot) is shown
-- running again at its next beat and closes as usual. Rows from before beat last when they started or finished.
ALTER TABLE feature_build ADD COLUMN heartbeat_at TIMESTAMPTZ;
ALTER TABLE feature_build ADD COLUMN heartbeat_key VARCHAR;
UPDATE feature_build SET heartbeat_at = coalesce(finished_at, started_at);
