-- Whether statements keep their rows' order ($keep; musim.warehouse.in_order): configure.sql turns it off.
SET preserve_insertion_order = $keep;
