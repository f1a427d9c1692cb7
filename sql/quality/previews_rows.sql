SELECT * FROM q_base;
