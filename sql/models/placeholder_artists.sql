-- Artists that name no one ('[unknown]', 'Various Artists', the library's 'Unknown artist'): kept with their
-- tracks, never served as an artist's neighbour (the co-listening build leaves them out the same way).
SELECT artist_id FROM artist WHERE is_placeholder;
