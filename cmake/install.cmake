# Filled in by the install work.
