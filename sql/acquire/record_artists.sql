-- Apply the artists of a chunk of journals (registered relation journal_artists; one row per artist),
-- after their previews: the status follows from the resolution and every preview the artist has.
-- failed previews still to retry make the artist failed (retried next run), then any stored preview makes
-- it downloaded; a failed status adds one to the attempts of the artist.
INSERT INTO acquire_artist (artist_id, name, provider, provider_artist_id, provider_name, match_score,
                            match_method, status, attempts, last_error, providers_tried, wanted, updated_at)
WITH counts AS (
    SELECT p.artist_id,
           count(*) FILTER (WHERE p.status = 'downloaded') AS downloaded,
           count(*) FILTER (WHERE p.status = 'rejected') AS rejected,
           count(*) FILTER (WHERE p.status = 'failed') AS failed,
           count(*) FILTER (WHERE p.status = 'failed' AND p.attempts < $max_attempts) AS retry,
           arg_max(p.last_error, p.updated_at) FILTER (WHERE p.status = 'failed') AS failed_error,
           arg_max(p.last_error, p.updated_at) FILTER (WHERE p.status = 'rejected') AS rejected_error
    FROM preview p JOIN journal_artists j USING (artist_id)
    GROUP BY p.artist_id
),
outcome AS (
    SELECT j.*,
           coalesce(c.downloaded, 0) AS downloaded, coalesce(c.rejected, 0) AS rejected,
           coalesce(c.failed, 0) AS failed, coalesce(c.retry, 0) AS retry, c.failed_error, c.rejected_error
    FROM journal_artists j LEFT JOIN counts c USING (artist_id)
),
decided AS (
    SELECT *,
           CASE
               WHEN retry > 0 THEN 'failed'
               WHEN downloaded > 0 THEN 'downloaded'
               WHEN resolve_status IN ('failed', 'matched', 'no_match', 'no_preview') THEN resolve_status
               WHEN failed > 0 THEN 'failed'
               WHEN rejected > 0 THEN 'rejected'
               ELSE 'no_preview'
           END AS final_status
    FROM outcome
)
SELECT artist_id, name, provider, provider_artist_id, provider_name, match_score, match_method, final_status,
       CASE WHEN final_status = 'failed' THEN 1 ELSE 0 END,
       CASE final_status WHEN 'failed' THEN coalesce(error, failed_error)
                         WHEN 'rejected' THEN rejected_error ELSE NULL END,
       providers_tried, wanted, now()
FROM decided
ON CONFLICT (artist_id) DO UPDATE SET
    provider = coalesce(excluded.provider, provider),
    provider_artist_id = coalesce(excluded.provider_artist_id, provider_artist_id),
    provider_name = coalesce(excluded.provider_name, provider_name),
    match_score = coalesce(excluded.match_score, match_score),
    match_method = coalesce(excluded.match_method, match_method),
    status = excluded.status,
    attempts = attempts + excluded.attempts,
    last_error = excluded.last_error,
    providers_tried = list_sort(list_distinct(list_concat(providers_tried, excluded.providers_tried))),
    wanted = excluded.wanted,
    updated_at = now();
INSERT INTO acquire_journal (journal_key, artist_id) SELECT journal_key, artist_id FROM journal_artists;
