-- What GX sees of each profile: the user's key and the profile fields (signup as a year).
SELECT u.user_key, b.gender, b.age, b.country, year(b.signup) AS signup_year
FROM q_base b
LEFT JOIN lastfm_user u USING (user_id);
