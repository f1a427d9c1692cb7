-- Make the attached database {{alias}} the default one.
USE {{alias}};
