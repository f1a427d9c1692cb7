-- One line per planned track, 'track_id:sha256', in track order (hashed into the run's preview set).
SELECT track_id || ':' || sha256 FROM fs_track ORDER BY track_id;
