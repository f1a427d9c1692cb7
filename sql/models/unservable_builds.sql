-- How many similarity builds may not be served (similarity_build_state): why no default training dump was found.
SELECT count(*) FROM similarity_build_state WHERE NOT servable
